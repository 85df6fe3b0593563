package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/batchport/batchport/internal/testenv"
)

// A drill (`run --no-deliver` under its own run key) exports the same data
// as the scheduled run, but must leave that run's backup key and delivery alone.
func TestDrillLeavesScheduledRunAlone(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	const date = "2026-11-27"
	s.batchport("run", "partner-daily-orders", "-p", "date="+date, "--no-deliver", "--run-key", "drill/1")

	drill := s.s3Object("drills/drill/1/partner-daily-orders/" + date + "/orders_" + date + ".csv")
	remote := filepath.Join(s.sftpDir, "orders_"+date+".csv")
	if _, err := os.Stat(filepath.Join(s.env.SFTPRoot, remote)); !os.IsNotExist(err) {
		t.Fatalf("the drill delivered %s (stat error %v)", remote, err)
	}

	s.batchport("run", "partner-daily-orders", "-p", "date="+date)
	export, deliver := s.waitSucceeded("partner-daily-orders/"+date, 10*time.Second)
	if want := "partner-daily-orders/" + date + "/orders_" + date + ".csv"; export.Key != want {
		t.Errorf("scheduled run stored s3 key %q, want %q", export.Key, want)
	}
	if !bytes.Equal(s.s3Object(export.Key), drill) {
		t.Error("the scheduled run's backup differs from the drill's export of the same date")
	}
	if deliver.RemotePath != remote {
		t.Errorf("scheduled run delivered %q, want %q", deliver.RemotePath, remote)
	}
	if !bytes.Equal(s.delivered(remote), drill) {
		t.Error("the delivered file differs from the drill's export of the same date")
	}
}

// A real run under a drill's run key fails instead of delivering the drill's
// export, which is not the backup of record and may be old.
func TestRealRunRejectsDrillRunKey(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	const date = "2026-11-27"
	s.batchport("run", "partner-daily-orders", "-p", "date="+date, "--no-deliver", "--run-key", "drill/2")

	_, stderr, err := s.run("run", "partner-daily-orders", "-p", "date="+date, "--run-key", "drill/2")
	if err == nil {
		t.Fatal("a real run under the drill's run key succeeded")
	}
	if !strings.Contains(stderr, "[run_key_drill]") {
		t.Errorf("stderr = %q, want a run_key_drill error", stderr)
	}
	if !strings.Contains(stderr, "give the real run another run key") {
		t.Errorf("stderr = %q, want it to say what to do", stderr)
	}
	remote := filepath.Join(s.sftpDir, "orders_"+date+".csv")
	if _, err := os.Stat(filepath.Join(s.env.SFTPRoot, remote)); !os.IsNotExist(err) {
		t.Errorf("the drill's export was delivered to %s (stat error %v)", remote, err)
	}
}

// A destination whose known_hosts variable is not set fails the run before
// the query runs: nothing is stored that a later run would find in the way.
func TestMissingKnownHostsFailsBeforeExport(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.addExportJob("orders", jobSpec{query: someOrders, knownHostsEnv: "BATCHPORT_TEST_UNSET_KNOWN_HOSTS"})

	stdout, stderr, err := s.run("run", "orders", "-p", "k=a", "--json")
	if err == nil {
		t.Fatal("run succeeded without the known_hosts variable")
	}
	if !strings.Contains(stderr, "[config_missing]") {
		t.Errorf("stderr = %q, want a config_missing error", stderr)
	}
	if !strings.Contains(stderr, "BATCHPORT_TEST_UNSET_KNOWN_HOSTS is not set") {
		t.Errorf("stderr = %q, want the error to name the unset variable", stderr)
	}
	// --json prints the failed run's record too, so a script reads one document either way.
	var run ledgerRun
	if err := json.Unmarshal([]byte(stdout), &run); err != nil {
		t.Fatalf("stdout of run --json is not a run record: %v: %q", err, stdout)
	}
	if run.Status != "failed" {
		t.Errorf("run --json status = %q, want failed", run.Status)
	}
	s.checkBucketEmpty()
}

// A run key that already ran with some params must not run, resume or count
// as done with other params: resuming would deliver the stored export under
// the other params' file name.
func TestRunKeyReusedWithOtherParams(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tests := []struct {
		name  string
		extra []string
	}{
		{"after an export without delivery", []string{"--run-key", "reuse/exported", "--no-deliver"}},
		{"after a delivery", []string{"--run-key", "reuse/delivered"}},
	}
	for _, test := range tests {
		s.batchport(append([]string{"run", "partner-daily-orders", "-p", "date=2026-11-22"}, test.extra...)...)
		_, stderr, err := s.run(append([]string{"run", "partner-daily-orders", "-p", "date=2026-11-21"}, test.extra...)...)
		if err == nil {
			t.Errorf("%s: the run key ran again with another date", test.name)
			continue
		}
		if !strings.Contains(stderr, "[run_key_conflict]") {
			t.Errorf("%s: stderr = %q, want a run_key_conflict error", test.name, stderr)
		}
		if !strings.Contains(stderr, "date=2026-11-22") {
			t.Errorf("%s: stderr = %q, want the error to name the params the key ran with", test.name, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(s.env.SFTPRoot, s.sftpDir, "orders_2026-11-21.csv")); !os.IsNotExist(err) {
		t.Errorf("a file for 2026-11-21 was delivered (stat error %v)", err)
	}
}

// With --json, stdout is one JSON run record, whatever notes the command adds.
func TestJSONOutputIsOneDocument(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.startWorker()
	commands := [][]string{
		{"run", "partner-daily-orders", "-p", "date=2026-11-18", "--run-key", "json/drill", "--no-deliver", "--json"},
		{"run", "partner-daily-orders", "-p", "date=2026-11-17", "--json"},
		{"run", "partner-daily-orders", "-p", "date=2026-11-17", "--json"}, // a duplicate now
		{"enqueue", "partner-daily-orders", "-p", "date=2026-11-16", "--wait", "--timeout", "60s", "--json"},
	}
	for _, args := range commands {
		stdout := s.batchport(args...)
		var run ledgerRun
		if err := json.Unmarshal([]byte(stdout), &run); err != nil {
			t.Errorf("batchport %s: stdout is not one JSON document: %v: %q", strings.Join(args, " "), err, stdout)
		}
	}

	// The same enqueue again is a duplicate, and --wait reports it as one.
	_, stderr, err := s.run(commands[len(commands)-1]...)
	if err != nil {
		t.Fatalf("enqueue --wait of a duplicate: %v: %s", err, stderr)
	}
	if !strings.Contains(stderr, "had already succeeded before this message") {
		t.Errorf("enqueue --wait of a duplicate: stderr = %q, want it to say the run key had already succeeded", stderr)
	}
}

// known_hosts content that does not parse, like a missing variable, fails
// the run before its query runs.
func TestInvalidKnownHostsFailsBeforeExport(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.addExportJob("orders", jobSpec{query: someOrders, knownHostsEnv: "BATCHPORT_TEST_BAD_KNOWN_HOSTS"})

	cmd := exec.Command(binary, "run", "orders", "-p", "k=a")
	cmd.Env = append(s.environ(), "BATCHPORT_TEST_BAD_KNOWN_HOSTS=not a known_hosts line")
	output, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("run succeeded with known_hosts content that does not parse")
	}
	if !strings.Contains(string(output), "[sftp_known_hosts_invalid]") {
		t.Errorf("output = %q, want a sftp_known_hosts_invalid failure", output)
	}
	s.checkBucketEmpty()
}

// checkBucketEmpty checks that no run stored an object in the test's bucket.
func (s *stack) checkBucketEmpty() {
	s.t.Helper()
	out, err := testenv.S3Client(s.t).ListObjectsV2(s.t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket)})
	if err != nil {
		s.t.Fatal(err)
	}
	if len(out.Contents) != 0 {
		s.t.Errorf("bucket holds %d objects after the failed run, want none: the export ran", len(out.Contents))
	}
}
