package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batchport/batchport/internal/testenv"
)

func TestRedriveResumesAtDelivery(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	proxy := newProxy(t, s.env.SFTPAddress) // the partner's server, down for now
	s.addExportJob("partner", jobSpec{
		query:         "SELECT g, current_setting('batchport.param.k') AS k, clock_timestamp() AS exported_at FROM generate_series(1, 1000) g",
		sftpAddress:   proxy.addr,
		knownHostsEnv: "PROXY_SFTP_KNOWN_HOSTS",
	})
	knownHosts := "PROXY_SFTP_KNOWN_HOSTS=" + proxy.knownHostsFor(s.env.SFTPKnownHosts, s.env.SFTPAddress)
	w := s.startWorkerWith("BATCHPORT_VISIBILITY_TIMEOUT=5s", knownHosts)

	s.send(message("partner", "a"))
	// Three failed receives with backoff, then the queue's redrive policy moves it.
	testenv.WaitFor(t, 3*time.Minute, "the message to reach the DLQ", func() bool {
		visible, _ := s.queues.Count(t, s.queues.DLQURL)
		return visible == 1
	})
	if n := countLines(retryLine, w); n != 2 {
		t.Errorf("%d retryable failures logged, want 2", n)
	}
	if n := countLines(lastReceiveLine, w); n != 1 {
		t.Errorf("%d failures on the last receive logged, want 1", n)
	}
	var failed ledgerRun
	out := s.batchport("runs", "show", "partner/a", "--json")
	if err := json.Unmarshal([]byte(out), &failed); err != nil {
		t.Fatal(err)
	}
	if failed.Status != "failed" || failed.Attempts != 3 || len(failed.Steps) != 1 || failed.Steps[0].Name != "export" {
		t.Errorf("ledger after the failures: status %s, %d attempts, steps %v; want failed, 3, [export]", failed.Status, failed.Attempts, failed.Steps)
	}
	if failed.DeadLetteredAt == nil {
		t.Error("the ledger does not record that the run's message went to the DLQ")
	}
	if files := s.sftpFiles(); len(files) != 0 {
		t.Errorf("SFTP folder has %v while the server was down, want nothing", files)
	}

	// The queue moved the message without the worker's reason attributes;
	// dlq list still names the run, resolved from the body.
	listed := s.batchport("dlq", "list")
	if !strings.Contains(listed, "partner/a") || !strings.Contains(listed, "receive_limit") {
		t.Errorf("dlq list does not show the run key and the receive limit:\n%s", listed)
	}

	proxy.up()
	redriven := s.batchport("dlq", "redrive", "--job", "partner")
	if !strings.Contains(redriven, "redriven 1 of 1") {
		t.Errorf("dlq redrive printed %q, want it to redrive 1 of 1", redriven)
	}
	export, deliver := s.waitSucceeded("partner/a", 60*time.Second)
	var succeeded ledgerRun
	if err := json.Unmarshal([]byte(s.batchport("runs", "show", "partner/a", "--json")), &succeeded); err != nil {
		t.Fatal(err)
	}
	if succeeded.DeadLetteredAt != nil {
		t.Error("the redriven run still shows as dead-lettered")
	}

	if n := countLines("export: running query", w); n != 1 {
		t.Errorf("the query ran %d times, want once: the redriven run must deliver the S3 snapshot", n)
	}
	file := s.delivered(deliver.RemotePath)
	sum := sha256.Sum256(file)
	if hex.EncodeToString(sum[:]) != export.SHA256 {
		t.Errorf("delivered SHA-256 %x, backup's %s", sum, export.SHA256)
	}
	if !bytes.Equal(file, s.s3Object(export.Key)) {
		t.Error("the delivered file differs from the S3 backup")
	}
	if files := s.sftpFiles(); len(files) != 1 {
		t.Errorf("SFTP folder has %v, want one file", files)
	}
	waitQueueEmpty(t, s)
	if visible, inFlight := s.queues.Count(t, s.queues.DLQURL); visible+inFlight != 0 {
		t.Errorf("the DLQ still has %d messages", visible+inFlight)
	}
}

func TestPoisonMessageRedrivenAfterFix(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.addExportJob("report", jobSpec{query: "SELEC current_setting('batchport.param.k') AS k"})
	w := s.startWorker()

	s.send(message("report", "a"))
	testenv.WaitFor(t, 60*time.Second, "the message to reach the DLQ", func() bool {
		visible, _ := s.queues.Count(t, s.queues.DLQURL)
		return visible == 1
	})
	lines := waitLogLines(t, w, "job failed permanently, message sent to the DLQ")
	if len(lines) != 1 {
		t.Fatalf("%d permanent-failure lines, want 1", len(lines))
	}
	if lines[0]["reason"] != "sql_invalid" || lines[0]["receive_count"] != float64(1) {
		t.Errorf("permanent failure logged as %v, want reason sql_invalid on the first receive", lines[0])
	}
	listed := s.batchport("dlq", "list")
	if !strings.Contains(listed, "sql_invalid") || !strings.Contains(listed, "report/a") || !strings.Contains(listed, "SELEC") {
		t.Errorf("dlq list does not show the job's run key, class and the SQL error:\n%s", listed)
	}
	// The time the message was sent to the DLQ, to find its log lines.
	if !regexp.MustCompile(`(?m)^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ\s`).MatchString(listed) {
		t.Errorf("dlq list does not start its row with the time the message was dead-lettered:\n%s", listed)
	}
	none := s.batchport("dlq", "redrive", "--job", "no-such-job", "--dry-run")
	if !strings.Contains(none, "would redrive 0 of 1") || strings.Contains(none, "the DLQ is empty") {
		t.Errorf("dry run for a job with no dead letters printed %q, want 0 of 1 and nothing saying the DLQ is empty", none)
	}

	// The fix: correct the query, then redrive.
	fixed := "SELECT current_setting('batchport.param.k') AS k\n"
	if err := os.WriteFile(filepath.Join(s.jobsDir, "report", "query.sql"), []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	dry := s.batchport("dlq", "redrive", "--dry-run")
	if !strings.Contains(dry, "would redrive 1 of 1") {
		t.Errorf("dry run printed %q", dry)
	}
	if visible, _ := s.queues.Count(t, s.queues.DLQURL); visible != 1 {
		t.Errorf("after a dry run the DLQ shows %d visible messages, want 1", visible)
	}
	s.batchport("dlq", "redrive")
	s.waitSucceeded("report/a", 60*time.Second)
	if n := countLines("job succeeded", w); n != 1 {
		t.Errorf("%d runs succeeded after the redrive, want 1", n)
	}
	waitQueueEmpty(t, s)
}

func TestMissingSourceDatabaseFailsCleanly(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.addJob("lost", `name: lost
description: A job whose source database does not exist.
owner: team-test
runbook: {why: tests, impact_if_stopped: none, switch_back: none}
handler: sql-export
export: {query: query.sql, database_env: LOST_DATABASE_URL}
backup: {key: "lost/{{.RunKey}}.csv"}
deliver:
  - sftp:
      address: `+s.env.SFTPAddress+`
      user: partner
      private_key_env: PARTNER_SFTP_KEY
      known_hosts_env: PARTNER_SFTP_KNOWN_HOSTS
      dir: `+s.sftpDir+`
      name: lost.csv
`, "SELECT 1\n")
	// The live delivery opens its temporary file before the export
	// connects; the failed connect must close it rather than hang on it.
	w := s.startWorkerWith("LOST_DATABASE_URL=postgres://postgres:hunter2@127.0.0.1:5432/no_such_database_here?sslmode=disable")
	s.send(`{"version": 1, "job": "lost", "run_key": "lost-1"}`)
	testenv.WaitFor(t, 30*time.Second, "the message to reach the DLQ", func() bool {
		visible, _ := s.queues.Count(t, s.queues.DLQURL)
		return visible == 1
	})
	lines := waitLogLines(t, w, "job failed permanently, message sent to the DLQ")
	if len(lines) != 1 || lines[0]["reason"] != "database_missing" {
		t.Errorf("permanent failures %v, want one with reason database_missing", lines)
	}
	if strings.Contains(w.logs.String(), "hunter2") {
		t.Error("the worker log contains the database password")
	}
	if files := s.sftpFiles(); len(files) != 0 {
		t.Errorf("the SFTP folder has %v after the failed export, want nothing", files)
	}
}

func TestBackupKeyTakenIsPermanent(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.addExportJob("fixed", jobSpec{query: "SELECT current_setting('batchport.param.k') AS k", fileName: "{{.Params.k}}.csv"})
	// Both run keys render the same backup key: the job's is "fixed/{{.Params.k}}.csv".
	w := s.startWorker()
	s.send(`{"version": 1, "job": "fixed", "run_key": "first", "params": {"k": "same"}}`)
	first, _ := s.waitSucceeded("first", 60*time.Second)
	s.send(`{"version": 1, "job": "fixed", "run_key": "second", "params": {"k": "same"}}`)
	testenv.WaitFor(t, 60*time.Second, "the second run to reach the DLQ", func() bool {
		visible, _ := s.queues.Count(t, s.queues.DLQURL)
		return visible == 1
	})
	lines := waitLogLines(t, w, "job failed permanently, message sent to the DLQ")
	if len(lines) != 1 || lines[0]["reason"] != "backup_key_taken" || lines[0]["receive_count"] != float64(1) {
		t.Fatalf("permanent failures %v, want one backup_key_taken on the first receive", lines)
	}
	if !strings.Contains(fmt.Sprint(lines[0]["error"]), `"first"`) {
		t.Errorf("the error %v does not name the run key that owns the backup", lines[0]["error"])
	}
	backup := s.s3Object(first.Key)
	if sum := sha256.Sum256(backup); hex.EncodeToString(sum[:]) != first.SHA256 {
		t.Error("the first run's backup changed")
	}
}

// waitLogLines waits until the worker has logged msg at least once (the
// worker sends a dead letter before it logs it) and returns those lines.
func waitLogLines(t *testing.T, w *worker, msg string) []map[string]any {
	t.Helper()
	testenv.WaitFor(t, 10*time.Second, "the log line "+msg, func() bool {
		return countLines(msg, w) > 0
	})
	return w.logLines(map[string]string{"msg": msg})
}
