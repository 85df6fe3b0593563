package worker

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/batchport/batchport/internal/failpoint"
	"github.com/batchport/batchport/internal/runner"
)

// handle runs one message and acts on its outcome. Between the two it calls
// settle, which frees the job's slot, and calls what settle returned at the end.
func (w *Worker) handle(ctx context.Context, message types.Message, settle func() (settled func())) {
	receivedAt := time.Now()
	receiveCount := receiveCountOf(message)
	beat := w.startHeartbeat(message, receivedAt)
	result := w.executor.ExecuteBody(ctx, []byte(aws.ToString(message.Body)), nil)
	beat.Stop()
	defer settle()()

	// One With call: each one copies the handler and formats its attributes.
	attrs := []any{"message_id", aws.ToString(message.MessageId), "receive_count", receiveCount}
	if result.Job != "" {
		attrs = append(attrs, "job", result.Job)
	}
	if result.RunKey != "" {
		attrs = append(attrs, "run_key", result.RunKey)
	}
	log := w.logger.With(attrs...)
	switch result.Kind {
	case runner.Succeeded, runner.Duplicate:
		failpoint.Pause(failpoint.BeforeDelete)
		if err := w.deleteMessage(message); err != nil {
			log.Error("worker: deleting a handled message failed; it will be delivered again and found done", "error", err)
		}
		if result.Kind == runner.Duplicate {
			log.Info("duplicate: run key already succeeded, message deleted")
			return
		}
		log.Info("job succeeded", "attempt", result.Attempt, "duration_ms", result.Duration.Milliseconds())

	case runner.Busy:
		wait := clampVisibility(time.Until(result.LeaseExpiresAt) + time.Second)
		// Each receive counts toward the queue's limit, and the holder
		// extends its lease for as long as it runs, so a duplicate of a long
		// run would reach the DLQ. Before its last receive it goes back to
		// the queue as a new message, with a receive count of zero.
		if w.nearReceiveLimit(receiveCount) {
			if err := w.requeue(message, wait); err != nil {
				log.Warn("worker: requeueing a busy message failed, hiding it instead", "error", err)
			} else {
				log.Info("busy: run key held by another worker, message sent again with a delay before its receive limit",
					"lease_expires_at", result.LeaseExpiresAt, "delay_s", int(min(wait, maxDelay).Seconds()))
				return
			}
		}
		w.setVisibility(message, wait)
		log.Info("busy: run key held by another worker, message hidden until its lease ends", "lease_expires_at", result.LeaseExpiresAt)

	case runner.Retry:
		if ctx.Err() != nil {
			releasedAs := w.giveBack(message, receiveCount)
			log.Warn("job cancelled by shutdown, message released", "attempt", result.Attempt, "released_as", releasedAs, "error", result.Err)
			return
		}
		delay := retryDelay(receiveCount)
		w.setVisibility(message, delay)
		if w.config.MaxReceiveCount > 0 && receiveCount >= w.config.MaxReceiveCount {
			w.markDeadLettered(log, result.RunKey)
			log.Error("job failed on the last receive the queue allows; the queue moves the message to the DLQ",
				"attempt", result.Attempt, "max_receive_count", w.config.MaxReceiveCount, "reason", result.Reason, "error", result.Err)
			return
		}
		log.Warn("job failed, will retry", "attempt", result.Attempt, "retry_in_s", int(delay.Seconds()),
			"reason", result.Reason, "error", result.Err)

	case runner.Permanent:
		if err := w.deadLetter(message, result, receiveCount); err != nil {
			log.Error("worker: sending to the DLQ failed; the message stays on the queue until its receive limit",
				"reason", result.Reason, "error", result.Err, "dlq_error", err)
			return
		}
		w.markDeadLettered(log, result.RunKey)
		log.Error("job failed permanently, message sent to the DLQ", "reason", result.Reason, "error", result.Err)
	}
}

func receiveCountOf(message types.Message) int {
	count, err := strconv.Atoi(message.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	if err != nil || count < 1 {
		return 1
	}
	return count
}

// retryDelay is the visibility timeout after a retryable failure on the
// receiveCount-th receive: 10 s doubling per receive, capped at 15 minutes,
// with the upper half jittered so that failed messages spread out.
func retryDelay(receiveCount int) time.Duration {
	base := min(10*time.Second<<min(receiveCount-1, 10), 15*time.Minute)
	return base/2 + rand.N(base/2+1)
}

// clampVisibility limits d to what ChangeMessageVisibility accepts: 0 to 12 hours.
func clampVisibility(d time.Duration) time.Duration {
	return min(max(d, 0), MaxVisibility)
}

// deadLetterRecorder is implemented by executors that keep a ledger.
type deadLetterRecorder interface {
	MarkDeadLettered(ctx context.Context, runKey string) error
}

// markDeadLettered records in the executor's ledger, if it has one, that
// the run's message went (or is about to go) to the DLQ.
func (w *Worker) markDeadLettered(log *slog.Logger, runKey string) {
	recorder, ok := w.executor.(deadLetterRecorder)
	if !ok || runKey == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := recorder.MarkDeadLettered(ctx, runKey); err != nil {
		log.Warn("ledger: recording the dead letter failed", "error", err)
	}
}

// maxDelay is SQS's limit on a message's DelaySeconds.
const maxDelay = 15 * time.Minute

// requeue sends message's body to the queue again, delayed by up to wait,
// then deletes message. If the delete fails, both copies stay, and the
// ledger runs the run key once.
func (w *Worker) requeue(message types.Message, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := w.queue.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:     aws.String(w.config.QueueURL),
		MessageBody:  message.Body,
		DelaySeconds: int32(min(wait, maxDelay) / time.Second),
	})
	if err != nil {
		return fmt.Errorf("sending the message again: %w", err)
	}
	if err := w.deleteMessage(message); err != nil {
		return fmt.Errorf("deleting the original after sending it again: %w", err)
	}
	return nil
}
