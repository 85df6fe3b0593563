package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/batchport/batchport/internal/failpoint"
	"github.com/batchport/batchport/internal/testenv"
)

// ordersQuery exports every order with its job title: about 22 MB of CSV
// from the demo data, so the backup takes three 8 MiB multipart parts.
const ordersQuery = "SELECT o.*, j.title FROM orders o JOIN jobs j USING (job_id) ORDER BY order_id"

// runState is a run's ledger row, from `batchport runs show --json`.
type runState struct {
	Status     string `json:"status"`
	Attempts   int    `json:"attempts"`
	Error      string `json:"error"`
	ErrorClass string `json:"error_class"`
}

// runState returns the run's ledger row, or false while the ledger has none.
func (s *stack) runState(runKey string) (runState, bool) {
	out, _, err := s.run("runs", "show", runKey, "--json")
	var state runState
	if err != nil || json.Unmarshal([]byte(out), &state) != nil {
		return runState{}, false
	}
	return state, true
}

// openUploads returns the bucket's multipart uploads that were neither completed nor aborted.
func openUploads(t *testing.T, client *s3.Client, bucket string) []types.MultipartUpload {
	t.Helper()
	out, err := client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("listing the multipart uploads of %s: %v", bucket, err)
	}
	return out.Uploads
}

// waitForFile waits until the failpoint's marker file exists, and fails with the worker's log if it never does.
func waitForFile(t *testing.T, path string, w *worker) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not reach its failpoint within 60s; its log:\n%s", w.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestKillAtEachPoint(t *testing.T) {
	t.Parallel()
	points := []struct {
		name string
		// queryRuns is how often the SQL runs in all, twice when the
		// killed worker had not recorded the export step.
		queryRuns int
		// attempts is the ledger's count of claims, 1 when the killed
		// worker had recorded success, so the second finds a duplicate.
		attempts int
		// backupAtKill: the backup object exists when the worker is killed.
		backupAtKill bool
		// sftpAtKill is what the SFTP folder has when the worker is killed:
		// only a temporary file ("part"), that or nothing ("part or none"),
		// or only the final file ("final").
		sftpAtKill string
	}{
		// The export streams into a temporary SFTP file while it uploads to
		// S3, so a kill at any point before the rename leaves that file. The
		// deliver.write point, reached with the first bytes of that file,
		// comes before the export is recorded. The SFTP dial runs alongside
		// the start of the COPY, so at export.copy, before the COPY's first
		// write, the temporary file may not be created yet.
		{name: failpoint.ExportCopy, queryRuns: 2, attempts: 2, sftpAtKill: "part or none"},
		{name: failpoint.ExportUpload, queryRuns: 2, attempts: 2, sftpAtKill: "part"},
		{name: failpoint.ExportRecorded, queryRuns: 1, attempts: 2, backupAtKill: true, sftpAtKill: "part"},
		{name: failpoint.DeliverWrite, queryRuns: 2, attempts: 2, sftpAtKill: "part"},
		{name: failpoint.DeliverRenamed, queryRuns: 1, attempts: 2, backupAtKill: true, sftpAtKill: "final"},
		{name: failpoint.BeforeDelete, queryRuns: 1, attempts: 1, backupAtKill: true, sftpAtKill: "final"},
	}
	for _, point := range points {
		t.Run(point.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			s.addExportJob("orders", jobSpec{query: ordersQuery})
			const runKey, fileName = "orders/all", "all.csv"

			// The first worker stops at the point, and the test kills it there.
			// A visibility timeout of 5s is also the lease, so the second
			// worker can take the run over about 5s after the kill.
			marker := filepath.Join(t.TempDir(), "reached")
			first := s.startWorkerWith("BATCHPORT_FAILPOINT="+point.name, "BATCHPORT_FAILPOINT_FILE="+marker,
				"BATCHPORT_VISIBILITY_TIMEOUT=5s")
			s.send(message("orders", "all"))
			waitForFile(t, marker, first)
			first.kill()
			killedAt := time.Now()

			// S3 has the object only once the upload is complete, and the
			// final SFTP name appears only with the rename.
			_, err := testenv.S3Client(t).HeadObject(context.Background(), &s3.HeadObjectInput{
				Bucket: aws.String(s.bucket), Key: aws.String("orders/all.csv"),
			})
			if point.backupAtKill && err != nil {
				t.Errorf("HeadObject of the backup after the kill: %v, want the object", err)
			}
			var notFound *types.NotFound
			if !point.backupAtKill && !errors.As(err, &notFound) {
				t.Errorf("HeadObject of the backup after the kill: %v, want not found", err)
			}
			atKill := s.sftpFiles()
			temporary := regexp.MustCompile(`^\.` + regexp.QuoteMeta(fileName) + `\.[0-9a-f]{12}\.part$`)
			switch point.sftpAtKill {
			case "part":
				if len(atKill) != 1 || !temporary.MatchString(atKill[0]) {
					t.Errorf("the SFTP folder has %v after the kill, want only a temporary file", atKill)
				}
			case "part or none":
				if len(atKill) > 1 || len(atKill) == 1 && !temporary.MatchString(atKill[0]) {
					t.Errorf("the SFTP folder has %v after the kill, want a temporary file or nothing", atKill)
				}
			case "final":
				if !slices.Equal(atKill, []string{fileName}) {
					t.Errorf("the SFTP folder has %v after the kill, want only %s", atKill, fileName)
				}
			}

			second := s.startWorkerWith("BATCHPORT_VISIBILITY_TIMEOUT=5s")
			export, deliver := s.waitSucceeded(runKey, 90*time.Second)
			waitQueueEmpty(t, s)
			t.Logf("the message was deleted %s after the kill", time.Since(killedAt).Round(100*time.Millisecond))
			if point.attempts == 1 {
				testenv.WaitFor(t, 5*time.Second, "the second worker to log the duplicate", func() bool {
					return countLines("duplicate: run key already succeeded, message deleted", second) == 1
				})
			}
			// The second worker is killed too, because a SIGTERM would wait up
			// to 20s for its long poll to end, and its shutdown is not under test.
			second.kill()

			// One complete file at the final name, the same bytes as the backup and the ledger's SHA-256.
			backup := s.s3Object(export.Key)
			file := s.delivered(deliver.RemotePath)
			if !bytes.Equal(file, backup) {
				t.Errorf("the delivered file (%d bytes) differs from the S3 backup (%d bytes)", len(file), len(backup))
			}
			sum := sha256.Sum256(backup)
			if got := hex.EncodeToString(sum[:]); got != export.SHA256 {
				t.Errorf("the S3 backup's SHA-256 is %s, the ledger's %s", got, export.SHA256)
			}
			if deliver.SHA256 != export.SHA256 {
				t.Errorf("the delivery step's SHA-256 %s differs from the export step's %s", deliver.SHA256, export.SHA256)
			}
			if int64(len(backup)) != export.Bytes {
				t.Errorf("the S3 backup has %d bytes, the ledger says %d", len(backup), export.Bytes)
			}
			if export.Bytes <= 2*(8<<20) {
				t.Errorf("the export has %d bytes, want more than two 8 MiB parts", export.Bytes)
			}
			if want := s.sftpDir + "/" + fileName; deliver.RemotePath != want {
				t.Errorf("delivered to %s, want %s", deliver.RemotePath, want)
			}

			// A kill while the temporary file was open leaves that file, hidden
			// and never renamed; the later attempt removes it before writing.
			for _, name := range s.sftpFiles() {
				if name != fileName {
					t.Errorf("the SFTP folder has %q besides %s after the second attempt, want nothing else", name, fileName)
				}
			}

			// A file renamed into place before the kill is found and not sent again.
			if point.name == failpoint.DeliverRenamed {
				if n := countLines("deliver: file already in place from an earlier attempt, not sent again", second); n != 1 {
					t.Errorf("the second worker logged %d finds of the file already in place, want 1", n)
				}
			}

			state, _ := s.runState(runKey)
			if state.Attempts != point.attempts {
				t.Errorf("the ledger counts %d attempts, want %d", state.Attempts, point.attempts)
			}
			if n := countLines("export: running query", first, second); n != point.queryRuns {
				t.Errorf("the export query ran %d times, want %d", n, point.queryRuns)
			}
			if point.queryRuns == 1 && point.attempts == 2 {
				if n := countLines("export: resuming from the S3 snapshot", second); n != 1 {
					t.Errorf("the second worker logged %d resumes from the S3 snapshot, want 1", n)
				}
			}

			// SIGKILL leaves no time to abort a multipart upload; the later
			// attempt aborts it before its own upload of the same key.
			client := testenv.S3Client(t)
			if uploads := openUploads(t, client, s.bucket); len(uploads) != 0 {
				t.Errorf("%d multipart uploads are open after the second attempt, want none", len(uploads))
			}

			if visible, inFlight := s.queues.Count(t, s.queues.DLQURL); visible+inFlight != 0 {
				t.Errorf("the DLQ has %d messages, want none", visible+inFlight)
			}
		})
	}
}
