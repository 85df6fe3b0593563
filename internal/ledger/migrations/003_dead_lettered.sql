-- When the run's message went to the DLQ; cleared when a redriven message claims it again.
ALTER TABLE batchport.runs ADD COLUMN dead_lettered_at timestamptz;
