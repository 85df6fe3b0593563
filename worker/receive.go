package worker

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// receive long-polls for up to n messages.
func (w *Worker) receive(ctx context.Context, n int) ([]types.Message, error) {
	out, err := w.queue.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(w.config.QueueURL),
		MaxNumberOfMessages:         int32(n),
		WaitTimeSeconds:             int32(w.config.WaitTime / time.Second),
		VisibilityTimeout:           int32(w.config.VisibilityTimeout / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// releaseAll gives messages received during shutdown back to the queue
// unrun, for another worker. Each goes back as a new message, so that the
// receive does not count toward the queue's limit. The worker's last poll
// may have taken back a job that shutdown had just released.
func (w *Worker) releaseAll(messages []types.Message) {
	for _, message := range messages {
		receiveCount := receiveCountOf(message)
		releasedAs := w.sendAgain(message, receiveCount)
		w.logger.Info("worker: message received during shutdown, released unrun",
			"message_id", aws.ToString(message.MessageId), "receive_count", receiveCount, "released_as", releasedAs)
	}
}

// giveBack makes the message of a job that shutdown cancelled visible again
// at once. A shutdown is not a failure, so a message near the queue's
// receive limit goes back as a new message, whose count starts at zero. It
// returns how the message went back: "released" or "sent_again".
func (w *Worker) giveBack(message types.Message, receiveCount int) string {
	if w.nearReceiveLimit(receiveCount) {
		return w.sendAgain(message, receiveCount)
	}
	w.setVisibility(message, 0)
	return "released"
}

// sendAgain sends message again as a new message, visible at once, and
// deletes it. If that fails, it releases the message instead. It returns
// "sent_again" or "released".
func (w *Worker) sendAgain(message types.Message, receiveCount int) string {
	err := w.requeue(message, 0)
	if err == nil {
		return "sent_again"
	}
	w.logger.Warn("worker: sending a message again at shutdown failed, releasing it instead",
		"message_id", aws.ToString(message.MessageId), "receive_count", receiveCount, "error", err)
	w.setVisibility(message, 0)
	return "released"
}

// nearReceiveLimit reports whether a message is on its second-to-last
// receive or later, where one more receive could move it to the DLQ.
func (w *Worker) nearReceiveLimit(receiveCount int) bool {
	return w.config.MaxReceiveCount > 1 && receiveCount >= w.config.MaxReceiveCount-1
}

// setVisibility changes a message's visibility timeout on a fresh context,
// because it runs after shutdown has cancelled the worker's own.
func (w *Worker) setVisibility(message types.Message, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := w.queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(w.config.QueueURL),
		ReceiptHandle:     message.ReceiptHandle,
		VisibilityTimeout: int32(d / time.Second),
	})
	if err != nil {
		w.logger.Warn("worker: changing message visibility failed; it reappears after its current timeout",
			"message_id", aws.ToString(message.MessageId), "visibility_s", int(d/time.Second), "error", err)
	}
}

// deleteMessage deletes a handled message, in a batch with others where
// several finish at once. It runs on a fresh context, so that a job
// finished during shutdown is not run again.
func (w *Worker) deleteMessage(message types.Message) error {
	return w.deleter.delete(message)
}
