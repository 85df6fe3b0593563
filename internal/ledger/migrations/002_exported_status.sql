-- A run started with --no-deliver ends with its export done and no delivery.
ALTER TABLE batchport.runs DROP CONSTRAINT runs_status_check;
ALTER TABLE batchport.runs ADD CONSTRAINT runs_status_check CHECK (status IN ('running', 'succeeded', 'exported', 'failed'));
