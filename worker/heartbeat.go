package worker

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// MaxVisibility is SQS's limit on a message's total visibility timeout,
// counted from when it was received.
const MaxVisibility = 12 * time.Hour

// heartbeat keeps a message invisible while its job runs, extending the
// visibility timeout every third of it. It never requests more than MaxVisibility
// from receivedAt (SQS would reject the call); past that the message
// becomes visible and may be delivered again, where the ledger's lease
// keeps the second delivery from running the job twice.
type heartbeat struct {
	queue      Queue
	queueURL   string
	message    types.Message
	timeout    time.Duration
	receivedAt time.Time
	now        func() time.Time
	onError    func(error)

	// first starts run at the first extension, so a job shorter than that
	// costs a timer rather than a goroutine.
	first *time.Timer
	stop  chan struct{}
	done  chan struct{}
}

func (w *Worker) startHeartbeat(message types.Message, receivedAt time.Time) *heartbeat {
	h := &heartbeat{
		queue:      w.queue,
		queueURL:   w.config.QueueURL,
		message:    message,
		timeout:    w.config.VisibilityTimeout,
		receivedAt: receivedAt,
		now:        time.Now,
		onError: func(err error) {
			w.logger.Warn("worker: extending visibility failed", "message_id", aws.ToString(message.MessageId), "error", err)
		},
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	h.begin()
	return h
}

// begin schedules the first extension one interval from now.
func (h *heartbeat) begin() {
	h.first = time.AfterFunc(h.interval(), h.run)
}

// interval is the time between extensions: a third of the timeout, at least a second.
func (h *heartbeat) interval() time.Duration {
	return max(h.timeout/3, time.Second)
}

// run extends the visibility now and then every interval until Stop.
func (h *heartbeat) run() {
	defer close(h.done)
	ticker := time.NewTicker(h.interval())
	defer ticker.Stop()
	for {
		// After a slow call, a tick and Stop can both be ready, and select
		// picks either. Stop wins, so no extension starts after it.
		select {
		case <-h.stop:
			return
		default:
		}
		extension, ok := h.nextExtension()
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := h.queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl:          aws.String(h.queueURL),
			ReceiptHandle:     h.message.ReceiptHandle,
			VisibilityTimeout: int32(extension / time.Second),
		})
		cancel()
		if err != nil {
			h.onError(err)
		}
		select {
		case <-h.stop:
			return
		case <-ticker.C:
		}
	}
}

// nextExtension returns the visibility to ask for now: the configured
// timeout, shortened so that it ends by receivedAt+MaxVisibility. It
// returns false once nothing is left to ask for.
func (h *heartbeat) nextExtension() (time.Duration, bool) {
	left := h.receivedAt.Add(MaxVisibility).Sub(h.now())
	extension := min(h.timeout, left).Truncate(time.Second)
	return extension, extension >= time.Second
}

// Stop ends the heartbeat and waits for an extension in flight, so a delete
// or visibility change made after Stop is not overtaken by it.
func (h *heartbeat) Stop() {
	close(h.stop)
	if h.first.Stop() {
		return // run never started
	}
	<-h.done
}
