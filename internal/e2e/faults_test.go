package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/jackc/pgx/v5"

	"github.com/batchport/batchport/internal/testenv"
)

// retryLine is the worker's log message for a retryable failure.
const retryLine = "job failed, will retry"

// lastReceiveLine is logged instead when the failure came on the last receive the queue allows.
const lastReceiveLine = "job failed on the last receive the queue allows; the queue moves the message to the DLQ"

// waitForRetries waits until the worker has logged n retryable failures and returns their lines.
func waitForRetries(t *testing.T, w *worker, n int, timeout time.Duration) []map[string]any {
	t.Helper()
	testenv.WaitFor(t, timeout, fmt.Sprintf("%d retryable failures in the worker's log", n), func() bool {
		return countLines(retryLine, w) >= n
	})
	return w.logLines(map[string]string{"msg": retryLine})
}

// checkRetries checks that each failure line is a transient failure of the
// receive it counts, and that its error contains cause.
func checkRetries(t *testing.T, lines []map[string]any, cause string) {
	t.Helper()
	for i, line := range lines {
		if got := fmt.Sprint(line["receive_count"]); got != fmt.Sprint(i+1) {
			t.Errorf("failure %d came on receive %s, want %d", i+1, got, i+1)
		}
		if got := fmt.Sprint(line["reason"]); got != "transient" {
			t.Errorf("failure %d has reason %s, want transient", i+1, got)
		}
		if text := fmt.Sprint(line["error"]); !strings.Contains(text, cause) {
			t.Errorf("failure %d has error %q, which does not contain %q", i+1, text, cause)
		}
	}
}

// checkFailedRun checks the ledger row of a run whose last attempt failed with a retryable error.
func (s *stack) checkFailedRun(runKey string, attempts int) {
	s.t.Helper()
	state, ok := s.runState(runKey)
	if !ok {
		s.t.Fatalf("the ledger has no run %s", runKey)
	}
	if state.Status != "failed" {
		s.t.Errorf("the ledger has run %s %s, want failed", runKey, state.Status)
	}
	if state.Attempts != attempts {
		s.t.Errorf("the ledger counts %d attempts, want %d", state.Attempts, attempts)
	}
	if state.ErrorClass != "retryable:transient" {
		s.t.Errorf("the ledger's error class is %q, want retryable:transient", state.ErrorClass)
	}
}

// exportStep returns the run's recorded export step, or false if there is none.
func (s *stack) exportStep(runKey string) (exportResult, bool) {
	s.t.Helper()
	var run ledgerRun
	if err := json.Unmarshal([]byte(s.batchport("runs", "show", runKey, "--json")), &run); err != nil {
		s.t.Fatal(err)
	}
	for _, step := range run.Steps {
		if step.Name == "export" {
			var export exportResult
			if err := json.Unmarshal(step.Result, &export); err != nil {
				s.t.Fatal(err)
			}
			return export, true
		}
	}
	return exportResult{}, false
}

// checkDelivery checks that the file in the SFTP folder is the only one
// there and has the backup's bytes, whose SHA-256 is the ledger's.
func (s *stack) checkDelivery(backup []byte, export exportResult, deliver deliverResult, fileName string) {
	s.t.Helper()
	if files := s.sftpFiles(); !slices.Equal(files, []string{fileName}) {
		s.t.Errorf("the SFTP folder has %v, want only %s", files, fileName)
	}
	if file := s.delivered(deliver.RemotePath); !bytes.Equal(file, backup) {
		s.t.Errorf("the delivered file (%d bytes) differs from the S3 backup (%d bytes)", len(file), len(backup))
	}
	sum := sha256.Sum256(backup)
	if got := hex.EncodeToString(sum[:]); got != export.SHA256 {
		s.t.Errorf("the S3 backup's SHA-256 is %s, the ledger's %s", got, export.SHA256)
	}
	if int64(len(backup)) != export.Bytes {
		s.t.Errorf("the S3 backup has %d bytes, the ledger says %d", len(backup), export.Bytes)
	}
}

// checkQueuesEmpty waits for the job queue to empty and checks the DLQ is empty.
func (s *stack) checkQueuesEmpty() {
	s.t.Helper()
	waitQueueEmpty(s.t, s)
	if visible, inFlight := s.queues.Count(s.t, s.queues.DLQURL); visible+inFlight != 0 {
		s.t.Errorf("the DLQ has %d messages, want none", visible+inFlight)
	}
}

// someOrders exports a tenth of the demo orders, about 1.6 MB of CSV.
const someOrders = "SELECT * FROM orders WHERE order_id % 10 = 0 ORDER BY order_id"

func TestFaultSFTPDown(t *testing.T) {
	t.Parallel()

	t.Run("back up", func(t *testing.T) {
		t.Parallel()
		s := newStack(t)
		server := startSFTPServer(t, s.env)
		s.addExportJob("orders", jobSpec{query: someOrders, sftpAddress: server.address, knownHostsEnv: "FAULT_SFTP_KNOWN_HOSTS"})
		server.kill()

		w := s.startWorkerWith("FAULT_SFTP_KNOWN_HOSTS=" + server.knownHosts(s.env))
		s.send(message("orders", "tenth"))

		// Two receives fail with the server down. The export, recorded by the
		// first, does not run again.
		checkRetries(t, waitForRetries(t, w, 2, 30*time.Second), "connection refused")
		s.checkFailedRun("orders/tenth", 2)
		if files := s.sftpFiles(); len(files) != 0 {
			t.Errorf("the SFTP folder has %v while the server is down, want nothing", files)
		}
		if _, ok := s.exportStep("orders/tenth"); !ok {
			t.Error("the ledger has no export step, want it recorded before the delivery failed")
		}

		// The third receive, the last before the DLQ, finds the server back.
		server.start()
		export, deliver := s.waitSucceeded("orders/tenth", 40*time.Second)
		s.checkQueuesEmpty()
		// The worker is killed, because a SIGTERM would wait up to 20s for its
		// long poll to end, and its shutdown is not under test.
		w.kill()

		s.checkDelivery(s.s3Object(export.Key), export, deliver, "tenth.csv")
		if state, _ := s.runState("orders/tenth"); state.Attempts != 3 {
			t.Errorf("the ledger counts %d attempts, want 3", state.Attempts)
		}
		if n := countLines("export: running query", w); n != 1 {
			t.Errorf("the export query ran %d times, want once", n)
		}
		if n := countLines("export: resuming from the S3 snapshot", w); n != 2 {
			t.Errorf("the worker resumed from the S3 snapshot %d times, want 2", n)
		}
		if n := countLines("deliver: cannot write during the export, will deliver from S3 after it", w); n != 1 {
			t.Errorf("the worker logged %d failures to open the file during the export, want 1", n)
		}
	})

	t.Run("stays down", func(t *testing.T) {
		t.Parallel()
		s := newStack(t)
		server := startSFTPServer(t, s.env)
		s.addExportJob("orders", jobSpec{query: someOrders, sftpAddress: server.address, knownHostsEnv: "FAULT_SFTP_KNOWN_HOSTS"})
		server.kill()

		w := s.startWorkerWith("FAULT_SFTP_KNOWN_HOSTS=" + server.knownHosts(s.env))
		s.send(message("orders", "tenth"))

		// After its third failed receive, the queue's redrive policy moves the message to the DLQ.
		testenv.WaitFor(t, 100*time.Second, "the message to reach the DLQ", func() bool {
			visible, _ := s.queues.Count(t, s.queues.DLQURL)
			return visible == 1
		})
		waitQueueEmpty(t, s)
		// Two failures to retry, then one on the last receive the queue allows.
		checkRetries(t, w.logLines(map[string]string{"msg": retryLine}), "connection refused")
		if n := countLines(retryLine, w); n != 2 {
			t.Errorf("the worker logged %d retryable failures, want 2", n)
		}
		last := w.logLines(map[string]string{"msg": lastReceiveLine})
		if len(last) != 1 || fmt.Sprint(last[0]["receive_count"]) != "3" {
			t.Errorf("last-receive failures %v, want one error line on receive 3", last)
		}
		s.checkFailedRun("orders/tenth", 3)
		if files := s.sftpFiles(); len(files) != 0 {
			t.Errorf("the SFTP folder has %v, want nothing", files)
		}
		// The backup stays in S3 for the redrive.
		if export, ok := s.exportStep("orders/tenth"); !ok {
			t.Error("the ledger has no export step, want it recorded before the delivery failed")
		} else if backup := s.s3Object(export.Key); int64(len(backup)) != export.Bytes {
			t.Errorf("the S3 backup has %d bytes, the ledger says %d", len(backup), export.Bytes)
		}

		var letters []struct {
			Job        string `json:"job"`
			ErrorClass string `json:"error_class"`
		}
		if err := json.Unmarshal([]byte(s.batchport("dlq", "list", "--json")), &letters); err != nil {
			t.Fatal(err)
		}
		if len(letters) != 1 {
			t.Fatalf("batchport dlq list shows %d dead letters, want 1", len(letters))
		}
		if letters[0].Job != "orders" {
			t.Errorf("batchport dlq list shows job %q, want orders", letters[0].Job)
		}
		if letters[0].ErrorClass != "receive_limit" {
			t.Errorf("batchport dlq list shows class %q, want receive_limit", letters[0].ErrorClass)
		}

		// Once the partner is back, a redrive delivers the backup without running the query again.
		server.start()
		t.Logf("batchport dlq redrive: %s", strings.TrimSpace(s.batchport("dlq", "redrive")))
		export, deliver := s.waitSucceeded("orders/tenth", 40*time.Second)
		s.checkQueuesEmpty()
		w.kill()

		s.checkDelivery(s.s3Object(export.Key), export, deliver, "tenth.csv")
		if state, _ := s.runState("orders/tenth"); state.Attempts != 4 {
			t.Errorf("the ledger counts %d attempts, want 4", state.Attempts)
		}
		if n := countLines("export: running query", w); n != 1 {
			t.Errorf("the export query ran %d times, want once", n)
		}
	})
}

// pausedExport is about 19 MB of CSV in three 8 MiB parts. COPY pauses for
// 5s after about 11.6 MB, once the first part is uploaded and before the
// second is complete, so a test can stop S3 in the middle of the upload.
const pausedExport = `SELECT g, repeat(md5(g::text), 30) AS pad, CASE WHEN g = 12000 THEN pg_sleep(5)::text END AS pause
FROM generate_series(1, 20000) AS g`

func TestFaultS3Down(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	server := startS3Server(t)
	bucket := server.newBucket()
	client := server.client()
	s.addExportJob("paused", jobSpec{query: pausedExport})
	const runKey, key = "paused/crash", "paused/crash.csv"

	w := s.startWorkerWith("AWS_ENDPOINT_URL_S3="+server.endpoint, "BATCHPORT_BACKUP_BUCKET="+bucket)
	s.send(message("paused", "crash"))

	// S3 crashes once the first part is stored, while COPY is paused.
	testenv.WaitFor(t, 30*time.Second, "the first part of the upload to be stored", func() bool {
		uploads := openUploads(t, client, bucket)
		if len(uploads) == 0 {
			return false
		}
		parts, err := client.ListParts(context.Background(), &s3.ListPartsInput{
			Bucket: aws.String(bucket), Key: uploads[0].Key, UploadId: uploads[0].UploadId,
		})
		return err == nil && len(parts.Parts) > 0
	})
	server.kill()

	// The first receive fails on the second part, and its abort of the upload
	// fails too. The second receive fails to start an upload.
	failures := waitForRetries(t, w, 2, 40*time.Second)
	checkRetries(t, failures, "connection refused")
	if text := fmt.Sprint(failures[0]["error"]); !strings.Contains(text, "aborting multipart upload") {
		t.Errorf("the first failure's error %q does not show the abort it tried", text)
	}
	s.checkFailedRun(runKey, 2)
	if _, err := os.Stat(filepath.Join(server.dataDir, bucket, key)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the S3 server's folder has an object at %s (%v), want none", key, err)
	}
	if _, ok := s.exportStep(runKey); ok {
		t.Error("the ledger has an export step, want none while S3 is down")
	}
	if files := s.sftpFiles(); len(files) != 0 {
		t.Errorf("the SFTP folder has %v while S3 is down, want nothing", files)
	}

	// The third receive, the last before the DLQ, finds S3 back and runs the export again.
	server.start()
	leftover := openUploads(t, client, bucket)
	t.Logf("open multipart uploads after S3 restarted: %d", len(leftover))
	export, deliver := s.waitSucceeded(runKey, 60*time.Second)
	s.checkQueuesEmpty()
	w.kill()

	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("reading the backup: %v", err)
	}
	var backup bytes.Buffer
	_, err = backup.ReadFrom(out.Body)
	out.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	s.checkDelivery(backup.Bytes(), export, deliver, "crash.csv")
	if export.Rows != 20000 {
		t.Errorf("the ledger has %d rows, want 20000", export.Rows)
	}
	if n := countLines("export: running query", w); n != 3 {
		t.Errorf("the export query ran %d times, want 3, once per receive", n)
	}
	if n := len(w.logLines(map[string]string{"msg": "deliver: file in place", "written_during_export": "true"})); n != 1 {
		t.Errorf("%d files were put in place after being written during the export, want 1", n)
	}

	// The crashed attempt's abort could not reach S3; the successful attempt
	// aborted that upload before its own, and completed its own.
	if uploads := openUploads(t, client, bucket); len(uploads) != 0 {
		t.Errorf("open multipart uploads %v after the run succeeded, want none", uploadKeys(uploads))
	}
}

func uploadKeys(uploads []types.MultipartUpload) []string {
	var keys []string
	for _, upload := range uploads {
		keys = append(keys, aws.ToString(upload.Key))
	}
	return keys
}

func TestFaultPostgresConnectionLost(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	// The comment marks this test's COPY in pg_stat_activity, so that the
	// exports of tests running beside it are not terminated too.
	token := testenv.UniqueName("fault-test")
	query := "/* " + token + " */ SELECT g, repeat(md5(g::text), 10) AS pad, CASE WHEN g = 5000 THEN pg_sleep(4)::text END AS pause\n" +
		"FROM generate_series(1, 10000) AS g"
	s.addExportJob("paused", jobSpec{query: query})
	const runKey, key = "paused/cut", "paused/cut.csv"

	w := s.startWorkerWith()
	s.send(message("paused", "cut"))

	// COPY has sent about 1.6 MB, more than pgexport buffers, when it pauses.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.env.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	testenv.WaitFor(t, 30*time.Second, "the export's COPY to pause", func() bool {
		var terminated int
		err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'COPY (%' AND query LIKE '%' || $1 || '%' AND wait_event = 'PgSleep'`,
			token).Scan(&terminated)
		if err != nil {
			t.Fatalf("terminating the export's backend: %v", err)
		}
		return terminated == 1
	})

	failures := waitForRetries(t, w, 1, 30*time.Second)
	checkRetries(t, failures, "57P01")
	s.checkFailedRun(runKey, 1)
	_, err = testenv.S3Client(t).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	var notFound *types.NotFound
	if !errors.As(err, &notFound) {
		t.Errorf("HeadObject of the backup after the broken COPY: %v, want not found", err)
	}
	if files := s.sftpFiles(); len(files) != 0 {
		t.Errorf("the SFTP folder has %v after the broken COPY, want nothing", files)
	}

	export, deliver := s.waitSucceeded(runKey, 40*time.Second)
	s.checkQueuesEmpty()
	w.kill()

	backup := s.s3Object(export.Key)
	s.checkDelivery(backup, export, deliver, "cut.csv")
	if export.Rows != 10000 {
		t.Errorf("the ledger has %d rows, want 10000", export.Rows)
	}
	if records := csvRecords(t, backup); records != 10001 {
		t.Errorf("the backup has %d CSV records, want 10001, the header and 10000 rows", records)
	}
	if state, _ := s.runState(runKey); state.Attempts != 2 {
		t.Errorf("the ledger counts %d attempts, want 2", state.Attempts)
	}
	if n := countLines("export: running query", w); n != 2 {
		t.Errorf("the export query ran %d times, want 2", n)
	}
	if n := len(w.logLines(map[string]string{"msg": "deliver: file in place", "written_during_export": "true"})); n != 1 {
		t.Errorf("%d files were put in place after being written during the export, want 1", n)
	}
}
