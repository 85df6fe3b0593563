// Package runner executes one job message: decode it, resolve it against
// the catalog, claim its run key in the ledger, run its handler and record
// the outcome. The worker and `batchport run` share it.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"time"

	"github.com/batchport/batchport/handlers"
	"github.com/batchport/batchport/internal/catalog"
	"github.com/batchport/batchport/internal/failure"
	"github.com/batchport/batchport/internal/ledger"
	"github.com/batchport/batchport/messages"
)

// Runner executes job messages.
type Runner struct {
	Catalog  *catalog.Catalog
	Registry *handlers.Registry
	Ledger   *ledger.Ledger
	// Owner names this process in the ledger's lease_owner column.
	Owner  string
	Logger *slog.Logger
	// Lease is how long a claim holds unless extended; it is extended every
	// third of it. A worker that dies blocks its run key for at most this long.
	Lease time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Kind is how an execution ended, which decides what happens to the message.
type Kind string

const (
	Succeeded Kind = "succeeded"
	// Duplicate: the run key already succeeded; nothing ran.
	Duplicate Kind = "duplicate"
	// Busy: another worker holds a live lease on the run key; nothing ran.
	Busy Kind = "busy"
	// Retry: a failure that may heal; the message should come back later.
	Retry Kind = "retry"
	// Permanent: a failure a retry cannot fix; the message goes to the DLQ.
	Permanent Kind = "permanent"
)

// Result is the outcome of one execution.
type Result struct {
	Kind   Kind
	Job    string
	RunKey string
	// Attempt counts claims of this run key, this one included.
	Attempt int
	// Err and Reason (a snake_case class code) are set for Retry and Permanent.
	Err    error
	Reason string
	// LeaseExpiresAt is when the other worker's lease ends (Busy).
	LeaseExpiresAt time.Time
	Duration       time.Duration
}

// Options adjust one execution. A nil *Options means the defaults.
type Options struct {
	// NoDeliver stops after the export step, and stores the export under
	// handlers.DrillPrefix/RUN_KEY/ in front of the job's backup key.
	NoDeliver bool
}

// ExecuteBody decodes a queue message body and executes it.
func (r *Runner) ExecuteBody(ctx context.Context, body []byte, opts *Options) Result {
	msg, err := messages.Decode(body)
	if err != nil {
		return r.failed(Result{}, failure.MarkPermanent("invalid_message", err))
	}
	return r.Execute(ctx, msg, opts)
}

// Execute resolves msg and, unless the run key is done or held elsewhere, runs it.
func (r *Runner) Execute(ctx context.Context, msg messages.Message, opts *Options) Result {
	if opts == nil {
		opts = &Options{}
	}
	started := r.now()
	result := Result{Job: msg.Job}
	run, handler, err := r.resolve(msg)
	if err != nil {
		result.RunKey = msg.RunKey
		r.recordRejected(ctx, msg, err)
		return r.failed(result, err)
	}
	result.RunKey = run.RunKey
	if opts.NoDeliver {
		// A drill's export must not take the backup key of the run it
		// rehearses: that run would then fail with backup_key_taken.
		run.BackupKey = path.Join(handlers.DrillPrefix, run.RunKey, run.BackupKey)
	}

	claim, err := r.Ledger.Claim(ctx, ledger.ClaimRequest{
		RunKey: run.RunKey, Job: run.Job.Name, ScheduledFor: run.ScheduledFor, Params: run.Params,
		RequestedBy: run.RequestedBy, Owner: r.Owner, Lease: r.Lease,
	})
	if err != nil {
		if errors.Is(err, ledger.ErrRunKeyConflict) {
			err = failure.MarkPermanent("run_key_conflict", err)
		}
		return r.failed(result, err)
	}
	switch claim.Outcome {
	case ledger.AlreadySucceeded:
		result.Kind = Duplicate
		return result
	case ledger.HeldElsewhere:
		result.Kind = Busy
		result.LeaseExpiresAt = claim.LeaseExpiresAt
		return result
	}
	result.Attempt = claim.Attempt

	err = r.runClaimed(ctx, claim, run, handler, opts)
	result.Duration = r.now().Sub(started)
	if err != nil {
		return r.failed(result, err)
	}
	result.Kind = Succeeded
	return result
}

// recordRejected stores a message that failed to resolve for good in the
// ledger, when the message names its run key, as `batchport enqueue` does.
// A worker whose catalog lacks the job then shows `enqueue --wait` the
// reason at once, rather than nothing until its timeout.
func (r *Runner) recordRejected(ctx context.Context, msg messages.Message, err error) {
	class, reason := failure.Classify(err)
	if msg.RunKey == "" || class != failure.Permanent {
		return
	}
	scheduledFor := r.now()
	if msg.ScheduledFor != nil {
		scheduledFor = *msg.ScheduledFor
	}
	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	// The ledger keeps params as text, as a claimed run's resolved params are.
	params := make(map[string]string, len(msg.Params))
	for name, raw := range msg.Params {
		var text string
		if json.Unmarshal(raw, &text) != nil {
			text = string(raw)
		}
		params[name] = text
	}
	rejected := ledger.Rejected{RunKey: msg.RunKey, Job: msg.Job, ScheduledFor: scheduledFor, Params: params,
		RequestedBy: msg.RequestedBy, Error: err.Error(), ErrorClass: string(class) + ":" + reason}
	if recordErr := r.Ledger.RecordRejected(recordCtx, rejected); recordErr != nil {
		r.Logger.Warn("ledger: recording a rejected message failed", "run_key", msg.RunKey, "job", msg.Job, "error", recordErr)
	}
}

func (r *Runner) resolve(msg messages.Message) (*catalog.Run, handlers.Handler, error) {
	job, err := r.Catalog.Job(msg.Job)
	if errors.Is(err, catalog.ErrInvalidJob) {
		return nil, nil, failure.MarkPermanent("invalid_job", err)
	}
	if err != nil {
		return nil, nil, failure.MarkPermanent("unknown_job", err)
	}
	handler, err := r.Registry.Get(job.Handler)
	if err != nil {
		return nil, nil, err
	}
	run, err := job.Resolve(msg, r.now())
	if err != nil {
		reason := "invalid_template"
		switch {
		case errors.Is(err, catalog.ErrInvalidParams):
			reason = "invalid_params"
		case errors.Is(err, catalog.ErrUnsafeTemplate):
			reason = "unsafe_value"
		}
		return nil, nil, failure.MarkPermanent(reason, fmt.Errorf("job %s: %w", job.Name, err))
	}
	return run, handler, nil
}

// runClaimed runs the handler under the job's timeout while keeping the
// lease alive, then records the outcome with the claim's fence.
func (r *Runner) runClaimed(ctx context.Context, claim *ledger.Claim, run *catalog.Run, handler handlers.Handler, opts *Options) error {
	jobCtx, cancel := context.WithTimeout(ctx, run.Job.TimeoutOrDefault())
	defer cancel()
	stopLease := r.keepLease(jobCtx, cancel, claim)
	steps := &stepRecorder{ledger: r.Ledger, claim: claim}
	err := handler.Execute(jobCtx, &handlers.Execution{Run: run, Steps: steps, NoDeliver: opts.NoDeliver})
	leaseErr := stopLease()
	if err == nil && leaseErr != nil {
		err = leaseErr
	}
	if err != nil && jobCtx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		err = fmt.Errorf("job timed out after %s: %w", run.Job.TimeoutOrDefault(), err)
	}

	// The outcome is recorded even when ctx was cancelled (shutdown), so the
	// lease is released and the next receive can claim the run at once.
	recordCtx, cancelRecord := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelRecord()
	if err != nil {
		class, reason := failure.Classify(err)
		if finishErr := r.Ledger.Finish(recordCtx, claim, ledger.Failed, err.Error(), string(class)+":"+reason); finishErr != nil {
			r.Logger.Warn("ledger: recording a failure failed", "run_key", claim.RunKey, "error", finishErr)
		}
		return err
	}
	status := ledger.Succeeded
	if opts.NoDeliver {
		status = ledger.Exported
	}
	if err := r.Ledger.Finish(recordCtx, claim, status, "", ""); err != nil {
		return fmt.Errorf("recording success: %w", err)
	}
	return nil
}

func (r *Runner) failed(result Result, err error) Result {
	class, reason := failure.Classify(err)
	result.Err, result.Reason = err, reason
	result.Kind = Retry
	if class == failure.Permanent {
		result.Kind = Permanent
	}
	return result
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// MarkDeadLettered records in the ledger that runKey's message went to the DLQ.
func (r *Runner) MarkDeadLettered(ctx context.Context, runKey string) error {
	return r.Ledger.MarkDeadLettered(ctx, runKey)
}
