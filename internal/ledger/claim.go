package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ClaimRequest describes the run a worker wants to execute.
type ClaimRequest struct {
	RunKey       string
	Job          string
	ScheduledFor time.Time
	Params       map[string]string
	RequestedBy  string
	// Owner identifies the worker (host and process), for people reading the ledger.
	Owner string
	// Lease is how long the claim holds without being extended.
	Lease time.Duration
}

// Outcome is the result of a claim attempt.
type Outcome int

const (
	// Claimed: the caller holds the lease and should execute the run.
	Claimed Outcome = iota
	// AlreadySucceeded: the run key finished before; the message is a duplicate.
	AlreadySucceeded
	// HeldElsewhere: another worker holds a live lease until LeaseExpiresAt.
	HeldElsewhere
)

// Claim is the result of a claim attempt.
type Claim struct {
	Outcome Outcome
	RunKey  string
	// Fence is the token every later write must present; zero unless Claimed.
	Fence   int64
	Attempt int
	// LeaseExpiresAt is when another worker's lease ends (HeldElsewhere).
	LeaseExpiresAt time.Time
	// Steps are the results of steps finished by earlier attempts, by name.
	Steps map[string]json.RawMessage
}

// ErrRunKeyConflict is returned when a run key already ran for another job or with other params.
var ErrRunKeyConflict = errors.New("run key already used by another job or with other params")

// Claim takes the run key for the caller unless it already succeeded or
// another worker holds a live lease. An expired lease is taken over, and
// the fence grows, so the old holder's later writes are rejected.
func (l *Ledger) Claim(ctx context.Context, req ClaimRequest) (*Claim, error) {
	params, err := json.Marshal(req.Params)
	if err != nil {
		return nil, fmt.Errorf("encoding params: %w", err)
	}
	claim := &Claim{RunKey: req.RunKey, Outcome: Claimed}
	err = l.pool.QueryRow(ctx, `
		INSERT INTO batchport.runs AS r (run_key, job, status, attempts, scheduled_for, params, requested_by,
			lease_owner, lease_expires_at, fence, started_at)
		VALUES ($1, $2, 'running', 1, $3, $4, $5, $6, now() + $7 * interval '1 millisecond', 1, now())
		ON CONFLICT (run_key) DO UPDATE SET
			job = excluded.job, params = excluded.params,
			scheduled_for = CASE WHEN r.attempts = 0 THEN excluded.scheduled_for ELSE r.scheduled_for END,
			status = 'running', attempts = r.attempts + 1, lease_owner = excluded.lease_owner,
			lease_expires_at = excluded.lease_expires_at, fence = r.fence + 1,
			started_at = now(), finished_at = NULL, dead_lettered_at = NULL, updated_at = now()
		WHERE (r.attempts = 0 OR (r.job = excluded.job AND r.params = excluded.params)) AND r.status <> 'succeeded'
			AND (r.status <> 'running' OR r.lease_expires_at < now())
		RETURNING fence, attempts`,
		req.RunKey, req.Job, req.ScheduledFor, params, req.RequestedBy, req.Owner, req.Lease.Milliseconds(),
	).Scan(&claim.Fence, &claim.Attempt)
	if errors.Is(err, pgx.ErrNoRows) {
		return l.explainRefusedClaim(ctx, req)
	}
	if err != nil {
		return nil, fmt.Errorf("claiming run %q: %w", req.RunKey, err)
	}
	if claim.Steps, err = l.stepResults(ctx, req.RunKey); err != nil {
		return nil, err
	}
	return claim, nil
}

// Rejected describes a message that failed before its run could be claimed
// (an unknown job, invalid params) but named its run key.
type Rejected struct {
	RunKey       string
	Job          string
	ScheduledFor time.Time
	Params       map[string]string
	RequestedBy  string
	Error        string
	ErrorClass   string
}

// RecordRejected stores a rejected message as a failed run with no
// attempts, so that `enqueue --wait` and `runs show` can report the
// rejection. A run already stored under the key is left unchanged. A later
// claim of the key takes the row over, even for another job, because
// nothing ran under it.
func (l *Ledger) RecordRejected(ctx context.Context, rejected Rejected) error {
	params, err := json.Marshal(rejected.Params)
	if err != nil {
		return fmt.Errorf("encoding params: %w", err)
	}
	_, err = l.pool.Exec(ctx, `
		INSERT INTO batchport.runs (run_key, job, status, attempts, scheduled_for, params, requested_by,
			error, error_class, finished_at)
		VALUES ($1, $2, 'failed', 0, $3, $4, $5, $6, $7, now())
		ON CONFLICT (run_key) DO NOTHING`,
		rejected.RunKey, rejected.Job, rejected.ScheduledFor, params, rejected.RequestedBy, rejected.Error, rejected.ErrorClass)
	if err != nil {
		return fmt.Errorf("recording rejected run %q: %w", rejected.RunKey, err)
	}
	return nil
}

func (l *Ledger) explainRefusedClaim(ctx context.Context, req ClaimRequest) (*Claim, error) {
	var job string
	var status Status
	var attempts int
	var params map[string]string
	var leaseExpiresAt *time.Time
	err := l.pool.QueryRow(ctx, "SELECT job, status, attempts, params, lease_expires_at FROM batchport.runs WHERE run_key = $1", req.RunKey).
		Scan(&job, &status, &attempts, &params, &leaseExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("reading run %q after a rejected claim: %w", req.RunKey, err)
	}
	switch {
	case attempts > 0 && job != req.Job:
		return nil, fmt.Errorf("run key %q for job %s: %w: it belongs to job %s; use another run key", req.RunKey, req.Job, ErrRunKeyConflict, job)
	case attempts > 0 && !maps.Equal(params, req.Params):
		// Resuming would deliver the stored export under the other params' names.
		return nil, fmt.Errorf("run key %q: %w: it ran with params %s, this message has %s; use another run key",
			req.RunKey, ErrRunKeyConflict, formatParams(params), formatParams(req.Params))
	case status == Succeeded:
		return &Claim{Outcome: AlreadySucceeded, RunKey: req.RunKey}, nil
	case leaseExpiresAt != nil:
		return &Claim{Outcome: HeldElsewhere, RunKey: req.RunKey, LeaseExpiresAt: *leaseExpiresAt}, nil
	}
	return nil, fmt.Errorf("claiming run %q: rejected in status %s", req.RunKey, status)
}

func (l *Ledger) stepResults(ctx context.Context, runKey string) (map[string]json.RawMessage, error) {
	rows, err := l.pool.Query(ctx, "SELECT step, result FROM batchport.steps WHERE run_key = $1", runKey)
	if err != nil {
		return nil, fmt.Errorf("reading steps of run %q: %w", runKey, err)
	}
	steps := map[string]json.RawMessage{}
	var name string
	var result json.RawMessage
	_, err = pgx.ForEachRow(rows, []any{&name, &result}, func() error {
		steps[name] = append(json.RawMessage(nil), result...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading steps of run %q: %w", runKey, err)
	}
	return steps, nil
}

// RecordStep stores a finished step's result, if the claim's fence is still current.
func (l *Ledger) RecordStep(ctx context.Context, claim *Claim, step string, result any) error {
	encoded, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("encoding result of step %s: %w", step, err)
	}
	return l.fenced(ctx, claim, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO batchport.steps (run_key, step, result, fence) VALUES ($1, $2, $3, $4)
			ON CONFLICT (run_key, step) DO UPDATE SET result = excluded.result, fence = excluded.fence, finished_at = now()`,
			claim.RunKey, step, encoded, claim.Fence)
		return err
	})
}

// Check returns ErrLeaseLost unless the claim's fence is current and its
// lease has not expired. Callers use it right before an effect that cannot
// be fenced by the database, such as renaming a file into place.
func (l *Ledger) Check(ctx context.Context, claim *Claim) error {
	var current bool
	err := l.pool.QueryRow(ctx, `SELECT fence = $2 AND lease_expires_at > now() FROM batchport.runs WHERE run_key = $1`,
		claim.RunKey, claim.Fence).Scan(&current)
	if err != nil {
		return fmt.Errorf("checking the lease of run %q: %w", claim.RunKey, err)
	}
	if !current {
		return fmt.Errorf("run %q (fence %d): %w", claim.RunKey, claim.Fence, ErrLeaseLost)
	}
	return nil
}

// Extend pushes the claim's lease out to lease from now.
func (l *Ledger) Extend(ctx context.Context, claim *Claim, lease time.Duration) error {
	return l.fenced(ctx, claim, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE batchport.runs SET lease_expires_at = now() + $2 * interval '1 millisecond', updated_at = now()
			WHERE run_key = $1`, claim.RunKey, lease.Milliseconds())
		return err
	})
}

// Finish ends the claim with status and, for failures, the error and its class.
// The lease is released, so a retry can claim the run at once.
func (l *Ledger) Finish(ctx context.Context, claim *Claim, status Status, errText, errClass string) error {
	return l.fenced(ctx, claim, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE batchport.runs SET status = $2, error = nullif($3, ''), error_class = nullif($4, ''),
				lease_owner = NULL, lease_expires_at = NULL, finished_at = now(), updated_at = now()
			WHERE run_key = $1`, claim.RunKey, string(status), errText, errClass)
		return err
	})
}

// fenced runs write in a transaction that first locks the run row and
// checks that its fence is still the claim's.
func (l *Ledger) fenced(ctx context.Context, claim *Claim, write func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		var fence int64
		err := tx.QueryRow(ctx, "SELECT fence FROM batchport.runs WHERE run_key = $1 FOR UPDATE", claim.RunKey).Scan(&fence)
		if err != nil {
			return fmt.Errorf("locking run %q: %w", claim.RunKey, err)
		}
		if fence != claim.Fence {
			return fmt.Errorf("run %q (fence %d, now %d): %w", claim.RunKey, claim.Fence, fence, ErrLeaseLost)
		}
		if err := write(tx); err != nil {
			return fmt.Errorf("writing run %q: %w", claim.RunKey, err)
		}
		return nil
	})
}

// formatParams prints params sorted by name, as name=value pairs.
func formatParams(params map[string]string) string {
	pairs := make([]string, 0, len(params))
	for _, name := range slices.Sorted(maps.Keys(params)) {
		pairs = append(pairs, name+"="+params[name])
	}
	return "{" + strings.Join(pairs, " ") + "}"
}
