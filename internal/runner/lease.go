package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/batchport/batchport/internal/ledger"
)

// keepLease extends the claim's lease every third of r.Lease until the
// returned stop function is called. If the lease is lost to another worker,
// it cancels the job, and stop returns the reason.
func (r *Runner) keepLease(ctx context.Context, cancelJob context.CancelFunc, claim *ledger.Claim) (stop func() error) {
	done := make(chan struct{})
	finished := make(chan error, 1)
	go func() {
		ticker := time.NewTicker(r.Lease / 3)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				finished <- nil
				return
			case <-ctx.Done():
				finished <- nil
				return
			case <-ticker.C:
			}
			err := r.Ledger.Extend(ctx, claim, r.Lease)
			if errors.Is(err, ledger.ErrLeaseLost) {
				r.Logger.Error("lease lost, cancelling the job", "run_key", claim.RunKey, "error", err)
				cancelJob()
				finished <- err
				return
			}
			if err != nil && ctx.Err() == nil {
				r.Logger.Warn("lease: extending failed, will retry", "run_key", claim.RunKey, "error", err)
			}
		}
	}()
	return func() error {
		close(done)
		return <-finished
	}
}

// stepRecorder implements handlers.StepRecorder over the ledger and one claim.
type stepRecorder struct {
	ledger *ledger.Ledger
	claim  *ledger.Claim
}

func (s *stepRecorder) Done(step string, result any) (bool, error) {
	raw, ok := s.claim.Steps[step]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return false, fmt.Errorf("decoding recorded result of step %s: %w", step, err)
	}
	return true, nil
}

func (s *stepRecorder) Record(ctx context.Context, step string, result any) error {
	if err := s.ledger.RecordStep(ctx, s.claim, step, result); err != nil {
		return fmt.Errorf("recording step %s: %w", step, err)
	}
	// Later Done calls of this attempt see the step as finished too.
	encoded, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("encoding result of step %s: %w", step, err)
	}
	s.claim.Steps[step] = encoded
	return nil
}

func (s *stepRecorder) CheckLease(ctx context.Context) error {
	return s.ledger.Check(ctx, s.claim)
}
