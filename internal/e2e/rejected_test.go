package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/batchport/batchport/internal/testenv"
)

// A worker deployed before a job was added rejects the job's messages as
// unknown_job. enqueue --wait reports that at once, and the rejection does
// not block the run once a worker with the job in its catalog takes it.
func TestWaitReportsUnknownJobAtOnce(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	oldWorker := s.startWorkerWith("BATCHPORT_JOBS_DIR=" + t.TempDir())

	started := time.Now()
	_, stderr, err := s.run("enqueue", "partner-daily-orders", "-p", "date=2026-11-25", "--wait", "--timeout", "60s")
	if err == nil {
		t.Fatal("enqueue --wait succeeded for a job missing from the worker's catalog")
	}
	if !strings.Contains(stderr, "failed permanently") || !strings.Contains(stderr, "partner-daily-orders") {
		t.Errorf("enqueue --wait stderr = %q, want a permanent failure that names the job", stderr)
	}
	if elapsed := time.Since(started); elapsed > 20*time.Second {
		t.Errorf("enqueue --wait took %s to report the rejection, want it within seconds", elapsed.Round(time.Second))
	}
	if lines := oldWorker.logLines(map[string]string{"run_key": "partner-daily-orders/2026-11-25"}); len(lines) == 0 {
		t.Error("the worker's rejection log line has no run_key")
	}
	if err := oldWorker.stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}

	s.startWorker()
	s.batchport("dlq", "redrive")
	s.waitSucceeded("partner-daily-orders/2026-11-25", time.Minute)
}

// A rejected message leaves a run with no attempts under its run key. The
// same key for another job, which is in the worker's catalog, must still run.
func TestRejectedRunKeyFreeForOtherJob(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	workerCatalog := t.TempDir()
	if err := os.CopyFS(workerCatalog, os.DirFS(s.jobsDir)); err != nil {
		t.Fatal(err)
	}
	s.addExportJob("orders-typo", jobSpec{query: someOrders})
	s.startWorkerWith("BATCHPORT_JOBS_DIR=" + workerCatalog)

	if _, _, err := s.run("enqueue", "orders-typo", "-p", "k=a", "--run-key", "shared/1", "--wait", "--timeout", "60s"); err == nil {
		t.Fatal("enqueue --wait succeeded for a job missing from the worker's catalog")
	}
	out := s.batchport("enqueue", "partner-daily-orders", "-p", "date=2026-11-24", "--run-key", "shared/1", "--wait", "--timeout", "60s")
	if !strings.Contains(out, "succeeded") {
		t.Errorf("enqueue --wait output = %q, want the run succeeded under the rejected run key", out)
	}
}

// A rejected message's params are stored as text, whatever their JSON type,
// so that runs list and runs show can read the row.
func TestRejectedParamsReadable(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.startWorker()
	s.send(`{"version": 1, "job": "no-such-job", "run_key": "typed/1", "params": {"n": 5, "on": true, "day": "2026-11-25"}}`)

	var run ledgerRun
	testenv.WaitFor(t, 30*time.Second, "the rejected run in the ledger", func() bool {
		out, _, err := s.run("runs", "show", "typed/1", "--json")
		return err == nil && json.Unmarshal([]byte(out), &run) == nil && run.Status == "failed"
	})
	if _, stderr, err := s.run("runs", "list"); err != nil {
		t.Errorf("runs list with a rejected run: %v: %s", err, stderr)
	}
}
