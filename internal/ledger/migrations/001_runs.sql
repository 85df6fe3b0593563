-- The run ledger: one row per run key, one per finished step.
CREATE TABLE batchport.runs (
    run_key          text PRIMARY KEY,
    job              text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    scheduled_for    timestamptz NOT NULL,
    params           jsonb       NOT NULL DEFAULT '{}',
    requested_by     text        NOT NULL DEFAULT '',
    lease_owner      text,
    lease_expires_at timestamptz,
    -- fence grows with every claim; a write that names an older fence is rejected.
    fence            bigint      NOT NULL DEFAULT 0,
    error            text,
    error_class      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX runs_job_created_at ON batchport.runs (job, created_at DESC);
CREATE INDEX runs_status ON batchport.runs (status) WHERE status <> 'succeeded';

CREATE TABLE batchport.steps (
    run_key     text        NOT NULL REFERENCES batchport.runs ON DELETE CASCADE,
    step        text        NOT NULL,
    result      jsonb       NOT NULL,
    fence       bigint      NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_key, step)
);
