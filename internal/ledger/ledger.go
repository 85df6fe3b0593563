// Package ledger records runs in PostgreSQL (schema batchport): who holds
// each run key, which steps are done with what result, and how it ended.
package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Status is a run's state in the ledger.
type Status string

const (
	Running   Status = "running"
	Succeeded Status = "succeeded"
	// Exported means the export is stored and delivery was left out on purpose (run --no-deliver).
	Exported Status = "exported"
	// Failed means the last attempt failed. Its error_class starts with
	// "permanent" when the worker sent the message to the DLQ at once, and
	// with "retryable" otherwise: the message comes back until the queue's
	// receive limit, after which the queue moves it to the DLQ. Both set
	// dead_lettered_at.
	Failed Status = "failed"
)

// ErrLeaseLost is returned by fenced writes after another worker took the run over.
var ErrLeaseLost = errors.New("lease lost: another worker claimed this run")

// Ledger is the run ledger.
type Ledger struct {
	pool *pgxpool.Pool
}

// Open connects to url and applies the ledger's migrations.
func Open(ctx context.Context, url string) (*Ledger, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("opening the run ledger (BATCHPORT_LEDGER_URL, else DATABASE_URL): %w", redactURL(err))
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("opening the run ledger (BATCHPORT_LEDGER_URL, else DATABASE_URL): %w", redactURL(err))
	}
	return &Ledger{pool: pool}, nil
}

// Close closes the ledger's connections.
func (l *Ledger) Close() { l.pool.Close() }

// Run is one run's row.
type Run struct {
	RunKey         string            `json:"run_key"`
	Job            string            `json:"job"`
	Status         Status            `json:"status"`
	Attempts       int               `json:"attempts"`
	ScheduledFor   time.Time         `json:"scheduled_for"`
	Params         map[string]string `json:"params"`
	RequestedBy    string            `json:"requested_by"`
	LeaseOwner     string            `json:"lease_owner,omitempty"`
	LeaseExpiresAt *time.Time        `json:"lease_expires_at,omitempty"`
	Error          string            `json:"error,omitempty"`
	ErrorClass     string            `json:"error_class,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	StartedAt      *time.Time        `json:"started_at,omitempty"`
	FinishedAt     *time.Time        `json:"finished_at,omitempty"`
	// DeadLetteredAt is when the worker sent the run's message to the DLQ,
	// or saw it fail on the last receive the queue allows.
	DeadLetteredAt *time.Time `json:"dead_lettered_at,omitempty"`
	Steps          []Step     `json:"steps,omitempty"`
}

// Step is one finished step with its result.
type Step struct {
	Name       string          `json:"name"`
	Result     json.RawMessage `json:"result"`
	FinishedAt time.Time       `json:"finished_at"`
}

const runColumns = `run_key, job, status, attempts, scheduled_for, params, requested_by,
	coalesce(lease_owner, ''), lease_expires_at, coalesce(error, ''), coalesce(error_class, ''),
	created_at, started_at, finished_at, dead_lettered_at`

func scanRun(row pgx.Row) (*Run, error) {
	var run Run
	err := row.Scan(&run.RunKey, &run.Job, &run.Status, &run.Attempts, &run.ScheduledFor, &run.Params,
		&run.RequestedBy, &run.LeaseOwner, &run.LeaseExpiresAt, &run.Error, &run.ErrorClass,
		&run.CreatedAt, &run.StartedAt, &run.FinishedAt, &run.DeadLetteredAt)
	if err != nil {
		return nil, err
	}
	return &run, nil
}

// ErrNotFound is returned by Get for a run key the ledger has never seen.
var ErrNotFound = errors.New("run key not found in the ledger")

// Get returns the run with its steps.
func (l *Ledger) Get(ctx context.Context, runKey string) (*Run, error) {
	run, err := scanRun(l.pool.QueryRow(ctx, "SELECT "+runColumns+" FROM batchport.runs WHERE run_key = $1", runKey))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%q: %w", runKey, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading run %q: %w", runKey, err)
	}
	rows, err := l.pool.Query(ctx, "SELECT step, result, finished_at FROM batchport.steps WHERE run_key = $1 ORDER BY finished_at, step", runKey)
	if err != nil {
		return nil, fmt.Errorf("reading steps of run %q: %w", runKey, err)
	}
	run.Steps, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Step, error) {
		var step Step
		err := row.Scan(&step.Name, &step.Result, &step.FinishedAt)
		return step, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading steps of run %q: %w", runKey, err)
	}
	return run, nil
}

// ListOptions filters List. A zero value lists the latest runs of every job.
type ListOptions struct {
	Job    string
	Status Status
	Limit  int // default 50
}

// List returns runs, newest first, without their steps.
func (l *Ledger) List(ctx context.Context, opts *ListOptions) ([]*Run, error) {
	if opts == nil {
		opts = &ListOptions{}
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = 50
	}
	rows, err := l.pool.Query(ctx, "SELECT "+runColumns+` FROM batchport.runs
		WHERE ($1 = '' OR job = $1) AND ($2 = '' OR status = $2)
		ORDER BY created_at DESC, run_key LIMIT $3`, opts.Job, string(opts.Status), limit)
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Run, error) { return scanRun(row) })
}

// MarkDeadLettered records that the run's message went to the DLQ. It is
// not fenced: it changes no result, and a later claim clears it.
func (l *Ledger) MarkDeadLettered(ctx context.Context, runKey string) error {
	_, err := l.pool.Exec(ctx, `UPDATE batchport.runs SET dead_lettered_at = now(), updated_at = now()
		WHERE run_key = $1 AND status = 'failed'`, runKey)
	if err != nil {
		return fmt.Errorf("marking run %q dead-lettered: %w", runKey, err)
	}
	return nil
}
