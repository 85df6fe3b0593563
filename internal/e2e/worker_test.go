package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/batchport/batchport/internal/testenv"
)

func TestWorkerRunsEveryMessageShape(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.startWorker()

	// One message of each accepted shape, each for another date, so each
	// has its own run key and file.
	s.batchport("enqueue", "partner-daily-orders", "-p", "date=2026-11-30")
	s.awsSend(`{"version": 1, "job": "partner-daily-orders", "params": {"date": "2026-12-01"}, "requested_by": "manual:aws-cli"}`)
	// EventBridge Scheduler fires at 03:30 Tokyo on 3 December (18:30 UTC on the 2nd);
	// the job's default date is the day before the event time.
	s.awsSend(`{"version": "0", "id": "8d9f0c1e-0000-0000-0000-000000000000", "detail-type": "Scheduled Event",
		"source": "aws.scheduler", "account": "000000000000", "time": "2026-12-02T18:30:00Z", "region": "us-east-1",
		"resources": ["arn:aws:scheduler:us-east-1:000000000000:schedule/default/partner-daily-orders"],
		"detail": {"version": 1, "job": "partner-daily-orders", "requested_by": "scheduler:test"}}`)

	for _, date := range []string{"2026-11-30", "2026-12-01", "2026-12-02"} {
		export, deliver := s.waitSucceeded("partner-daily-orders/"+date, 60*time.Second)
		backup := s.s3Object(export.Key)
		file := s.delivered(deliver.RemotePath)

		if !bytes.Equal(backup, file) {
			t.Errorf("%s: the S3 object (%d bytes) and the delivered file (%d bytes) differ", date, len(backup), len(file))
		}
		sum := sha256.Sum256(backup)
		if got := hex.EncodeToString(sum[:]); got != export.SHA256 {
			t.Errorf("%s: S3 object SHA-256 %s, ledger says %s", date, got, export.SHA256)
		}
		if int64(len(backup)) != export.Bytes {
			t.Errorf("%s: S3 object has %d bytes, ledger says %d", date, len(backup), export.Bytes)
		}
		if export.Rows < 1000 {
			t.Errorf("%s: %d rows exported, the demo data has thousands a day", date, export.Rows)
		}
		if records := csvRecords(t, file); int64(records) != export.Rows+1 {
			t.Errorf("%s: %d CSV records, want rows + 1 = %d", date, records, export.Rows+1)
		}
		if want := s.psqlExport(date); !bytes.Equal(file, want) {
			t.Errorf("%s: the delivered file differs from psql \\copy's output (%d and %d bytes)", date, len(file), len(want))
		}
		if !strings.HasSuffix(deliver.RemotePath, "/orders_"+date+".csv") {
			t.Errorf("%s: delivered to %s", date, deliver.RemotePath)
		}
	}
	waitQueueEmpty(t, s)
}

func TestWorkerDeadLettersBadMessages(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.addJob("region-report", `name: region-report
description: A job with a required parameter.
owner: team-test
runbook: {why: tests, impact_if_stopped: none, switch_back: none}
params:
  region: {type: string, required: true}
handler: sql-export
export: {query: query.sql}
backup: {key: "region/{{.Params.region}}.csv"}
`, "SELECT current_setting('batchport.param.region') AS region\n")
	w := s.startWorker()

	bad := map[string]struct {
		body   string
		reason string
		names  string // what the error must name
	}{
		"malformed":     {`{"version": 1, "job": `, "invalid_message", "JSON"},
		"unknown job":   {`{"version": 1, "job": "no-such-job"}`, "unknown_job", `"no-such-job"`},
		"missing param": {`{"version": 1, "job": "region-report"}`, "invalid_params", `"region"`},
		"empty detail": {`{"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.scheduler",
			"account": "000000000000", "time": "2026-12-02T18:30:00Z", "region": "us-east-1", "resources": [], "detail": {}}`,
			"invalid_message", `"job"`},
	}
	for _, message := range bad {
		s.awsSend(message.body)
	}
	// A good message after the bad ones shows the worker keeps going.
	s.awsSend(`{"version": 1, "job": "region-report", "params": {"region": "kanto"}}`)
	s.waitForBackup("region/kanto.csv")

	dead := s.receiveAll(s.queues.DLQURL, len(bad), 60*time.Second)
	for name, message := range bad {
		found := false
		for _, letter := range dead {
			if aws.ToString(letter.Body) != message.body {
				continue
			}
			found = true
			class := aws.ToString(letter.MessageAttributes["batchport.error_class"].StringValue)
			text := aws.ToString(letter.MessageAttributes["batchport.error_message"].StringValue)
			if class != message.reason {
				t.Errorf("%s: DLQ error_class %q, want %q", name, class, message.reason)
			}
			if !strings.Contains(text, message.names) {
				t.Errorf("%s: DLQ error_message %q does not name %s", name, text, message.names)
			}
		}
		if !found {
			t.Errorf("%s: not in the DLQ", name)
		}
	}
	// Each bad message gives one error line, with its reason, and is received
	// once. The worker logs a dead letter after sending it, so wait for the lines.
	testenv.WaitFor(t, 10*time.Second, "an error line per bad message", func() bool {
		return len(w.logLines(map[string]string{"level": "ERROR"})) >= len(bad)
	})
	errors := w.logLines(map[string]string{"level": "ERROR"})
	if len(errors) != len(bad) {
		t.Errorf("worker logged %d error lines, want one per bad message (%d)", len(errors), len(bad))
	}
	for _, line := range errors {
		if fmt.Sprint(line["receive_count"]) != "1" {
			t.Errorf("a bad message was received %v times before the DLQ, want once: %v", line["receive_count"], line)
		}
		if line["error"] == nil || line["reason"] == nil {
			t.Errorf("error line without error and reason: %v", line)
		}
	}
	waitQueueEmpty(t, s)
}

// waitForBackup waits until key exists in the test's bucket.
func (s *stack) waitForBackup(key string) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _, err := s.run("runs", "list", "--status", "succeeded", "--json")
		if err == nil && strings.Contains(out, `"succeeded"`) {
			_ = s.s3Object(key)
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for a succeeded run with backup %s", key)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// receiveAll receives from queueURL until it has n messages or timeout passes.
func (s *stack) receiveAll(queueURL string, n int, timeout time.Duration) []types.Message {
	s.t.Helper()
	var got []types.Message
	deadline := time.Now().Add(timeout)
	for len(got) < n && time.Now().Before(deadline) {
		out, err := s.queues.Client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			VisibilityTimeout: 60, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			s.t.Fatalf("receiving from the DLQ: %v", err)
		}
		got = append(got, out.Messages...)
	}
	if len(got) != n {
		s.t.Fatalf("received %d messages from the DLQ, want %d", len(got), n)
	}
	return got
}

// waitQueueEmpty waits until the job queue has no visible or in-flight messages.
func waitQueueEmpty(t *testing.T, s *stack) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		visible, inFlight := s.queues.Count(t, s.queues.URL)
		if visible == 0 && inFlight == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job queue still has %d visible and %d in-flight messages", visible, inFlight)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
