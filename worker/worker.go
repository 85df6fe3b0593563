// Package worker receives job messages from SQS and runs them: receiving only
// into free slots, extending visibility while a job runs, and acting on each
// outcome (delete, retry later, dead-letter). On shutdown it stops receiving,
// lets running jobs finish within the drain timeout, then cancels them and
// releases their messages.
package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/batchport/batchport/internal/runner"
)

// Queue is the part of the SQS API the worker calls.
type Queue interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Executor runs one message body; *runner.Runner implements it.
type Executor interface {
	ExecuteBody(ctx context.Context, body []byte, opts *runner.Options) runner.Result
}

// Config is the worker's settings.
type Config struct {
	// QueueURL is the job queue.
	QueueURL string
	// DLQURL is the dead-letter queue for permanent failures.
	DLQURL string
	// Concurrency is how many jobs run at once. Default: 4.
	Concurrency int
	// VisibilityTimeout is the visibility timeout each receive requests, which heartbeats extend. Default: 60s.
	VisibilityTimeout time.Duration
	// DrainTimeout is how long shutdown waits for running jobs. Default: 100s.
	DrainTimeout time.Duration
	// WaitTime is the long-poll duration. Default: 20s, the SQS maximum.
	WaitTime time.Duration
	// MaxReceiveCount is the queue's redrive limit, so a failure on the
	// last receive can be logged as what it is. Zero: unknown.
	MaxReceiveCount int
}

func (c *Config) setDefaults() {
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.VisibilityTimeout <= 0 {
		c.VisibilityTimeout = 60 * time.Second
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 100 * time.Second
	}
	if c.WaitTime <= 0 {
		c.WaitTime = 20 * time.Second
	}
}

func (c *Config) validate() error {
	if c.QueueURL == "" {
		return errors.New("worker: QueueURL is missing")
	}
	if c.DLQURL == "" {
		return errors.New("worker: DLQURL is missing: set BATCHPORT_DLQ_URL or give the queue a redrive policy")
	}
	return nil
}

// Worker is the receive loop and the jobs it started.
type Worker struct {
	queue    Queue
	executor Executor
	config   Config
	logger   *slog.Logger

	// slots holds one token per running or received job.
	slots chan struct{}
	// settling holds one token per finished job whose outcome (a delete,
	// a visibility change, a DLQ send) is still being sent. A finished job
	// frees its slot for the next receive while its outcome is sent. This
	// second limit keeps a slow queue from piling up finished messages.
	settling chan struct{}
	running  sync.WaitGroup
	// handling counts the messages being handled, for the shutdown log.
	handling atomic.Int64
	deleter  *deleter
}

// New returns a worker. cfg is copied, with defaults filled in.
func New(queue Queue, executor Executor, cfg Config, logger *slog.Logger) (*Worker, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Worker{
		queue:    queue,
		executor: executor,
		config:   cfg,
		logger:   logger,
		slots:    make(chan struct{}, cfg.Concurrency),
		settling: make(chan struct{}, cfg.Concurrency),
	}, nil
}

// Run receives and runs jobs until ctx is cancelled, then drains: running
// jobs get the drain timeout to finish, after which they are cancelled and
// their messages released. It returns nil after a clean shutdown.
func (w *Worker) Run(ctx context.Context) error {
	// jobCtx outlives ctx by the drain timeout, so running jobs can finish.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	// The drain timeout counts from the shutdown signal, not from the end
	// of the last long poll, which may take up to WaitTime longer.
	stopDrainTimer := context.AfterFunc(ctx, func() {
		w.logger.Info("worker: stopping, waiting for running jobs", "drain_timeout_s", int(w.config.DrainTimeout.Seconds()))
		time.AfterFunc(w.config.DrainTimeout, func() {
			if jobCtx.Err() == nil {
				if n := w.handling.Load(); n > 0 {
					w.logger.Warn("worker: drain timeout reached, cancelling running jobs", "running", n)
				}
				cancelJobs()
			}
		})
	})
	defer stopDrainTimer()

	w.logger.Info("worker: started", "queue_url", w.config.QueueURL, "concurrency", w.config.Concurrency,
		"visibility_timeout_s", int(w.config.VisibilityTimeout.Seconds()))
	w.deleter = newDeleter(w.queue, w.config.QueueURL)
	w.receiveLoop(ctx, jobCtx)
	w.running.Wait()
	w.deleter.close()
	w.logger.Info("worker: stopped")
	return nil
}

// receiveLoop receives while ctx lives, each time asking for as many
// messages as there are free slots (at most 10, the SQS maximum).
func (w *Worker) receiveLoop(ctx, jobCtx context.Context) {
	errorLog := newRateLimitedLog(w.logger, time.Minute)
	var failures int
	for {
		free := w.acquireSlots(ctx)
		if free == 0 {
			return
		}
		// Shutdown does not cancel a poll in progress: SQS may still hand
		// messages to a request whose client went away, and they would stay
		// in flight for a whole visibility timeout. The poll ends by itself
		// within WaitTime, and what it returns is released below.
		pollCtx, cancelPoll := context.WithTimeout(context.WithoutCancel(ctx), w.config.WaitTime+10*time.Second)
		messages, err := w.receive(pollCtx, free)
		cancelPoll()
		if ctx.Err() != nil {
			// Shutdown began during the poll: whatever arrived is released at once.
			w.releaseAll(messages)
			w.returnSlots(free)
			return
		}
		if err != nil {
			w.returnSlots(free)
			failures++
			errorLog.Error("worker: receiving messages failed", "error", err, "consecutive_failures", failures)
			sleep(ctx, receiveBackoff(failures))
			continue
		}
		failures = 0
		if len(messages) > 0 {
			w.logger.Debug("worker: received messages", "count", len(messages), "free_slots", free)
		}
		w.returnSlots(free - len(messages))
		for _, message := range messages {
			w.running.Add(1)
			w.handling.Add(1)
			go func() {
				defer w.running.Done()
				defer w.handling.Add(-1)
				w.handle(jobCtx, message, w.settle)
			}()
		}
	}
}

// acquireSlots blocks for one free slot, then takes up to nine more without
// waiting. It returns 0 when ctx ends first.
func (w *Worker) acquireSlots(ctx context.Context) int {
	// The context is checked first because select picks at random when a
	// slot is free as well, and a poll started now outlives shutdown by up
	// to WaitTime.
	if ctx.Err() != nil {
		return 0
	}
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	taken := 1
	// Jobs that finish within gatherWindow of each other free their slots
	// into one receive, rather than one receive each.
	gather := time.NewTimer(gatherWindow)
	defer gather.Stop()
	for taken < min(10, cap(w.slots)) {
		select {
		case w.slots <- struct{}{}:
			taken++
		case <-gather.C:
			return taken
		case <-ctx.Done():
			return taken
		}
	}
	return taken
}

// gatherWindow is how long a receive waits for more slots after the first.
// It delays a receive by at most this much, which is nothing next to a
// job's run time and makes short jobs share receives.
const gatherWindow = 2 * time.Millisecond

// settle moves a finished job from its slot to a settling token, so the
// next receive need not wait for the job's outcome to be sent. It returns
// the function that gives the settling token back.
func (w *Worker) settle() (settled func()) {
	w.settling <- struct{}{}
	w.returnSlots(1)
	return func() { <-w.settling }
}

func (w *Worker) returnSlots(n int) {
	for range n {
		<-w.slots
	}
}

func receiveBackoff(failures int) time.Duration {
	delay := time.Second << min(failures-1, 5)
	return min(delay, 30*time.Second)
}

func sleep(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
