package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/batchport/batchport/internal/testenv"
)

func TestShutdownCancelsLongExport(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	// About 10 MB/s for two minutes, so a multipart upload is open when SIGTERM comes.
	s.addExportJob("long", jobSpec{query: `SELECT g, repeat('x', 10000) AS pad FROM generate_series(1, 120000) g
		WHERE pg_sleep(0.001) IS NOT NULL`})
	w := s.startWorkerWith("BATCHPORT_DRAIN_TIMEOUT=3s")

	s.send(message("long", "a"))
	testenv.WaitFor(t, 30*time.Second, "the export to start", func() bool {
		return countLines("export: running query", w) == 1
	})
	time.Sleep(5 * time.Second)
	signalled := time.Now()
	w.signal(syscall.SIGTERM)

	// The job is cancelled after the 3 s drain timeout and its message
	// released at once. The worker's last long poll may take it back; it
	// then goes back as a new message, visible at once too.
	testenv.WaitFor(t, 10*time.Second, "the message to be visible again", func() bool {
		visible, _ := s.queues.Count(t, s.queues.URL)
		return visible == 1
	})
	if released := time.Since(signalled); released > 5*time.Second {
		t.Errorf("message visible again %s after SIGTERM, want within about 1 s of the 3 s drain timeout", released)
	}
	select {
	case err := <-w.done:
		w.done <- err
		if err != nil {
			t.Errorf("worker exit: %v, want status 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not exit within 30 s of SIGTERM")
	}

	client := testenv.S3Client(t)
	uploads, err := client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(uploads.Uploads) != 0 {
		t.Errorf("%d multipart uploads left open, want none", len(uploads.Uploads))
	}
	if _, err := client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String("long/a.csv")}); err == nil {
		t.Error("the backup object exists after a cancelled export")
	}
	if _, err := os.Stat(filepath.Join(s.env.SFTPRoot, s.sftpDir, "a.csv")); err == nil {
		t.Error("the SFTP file exists after a cancelled export")
	}
	if n := len(w.logLines(map[string]string{"msg": "job cancelled by shutdown, message released"})); n != 1 {
		t.Errorf("%d lines say the job was cancelled and released, want 1", n)
	}
	for _, line := range w.logLines(map[string]string{"msg": "worker: message received during shutdown, released unrun"}) {
		if line["released_as"] != "sent_again" {
			t.Errorf("a message received during shutdown went back as %v, want sent_again so the receive does not count", line["released_as"])
		}
	}
}

func TestShutdownDuringLongPoll(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.addExportJob("quick", jobSpec{query: "SELECT current_setting('batchport.param.k') AS k"})

	// Messages that arrive 1 s into a poll, SIGTERM 2 s in: run or released.
	early := s.startWorker()
	time.Sleep(time.Second)
	s.send(message("quick", "a"))
	s.send(message("quick", "b"))
	time.Sleep(time.Second)
	if err := early.stop(30 * time.Second); err != nil {
		t.Errorf("worker exit: %v, want status 0", err)
	}
	s.checkRunOrVisible(early, "quick/a", "quick/b")

	// Messages that arrive after SIGTERM, during the last poll: released at once.
	late := s.startWorker()
	time.Sleep(time.Second)
	late.signal(syscall.SIGTERM)
	time.Sleep(time.Second)
	s.send(message("quick", "c"))
	if err := late.stop(30 * time.Second); err != nil {
		t.Errorf("worker exit: %v, want status 0", err)
	}
	if n := countLines("job succeeded", late); n != 0 {
		t.Errorf("the worker ran %d jobs after SIGTERM, want none", n)
	}
	s.checkRunOrVisible(late, "quick/c")
}

// checkRunOrVisible checks that nothing is in flight after the worker
// exited, and that each run key either succeeded or has its message visible.
func (s *stack) checkRunOrVisible(w *worker, runKeys ...string) {
	s.t.Helper()
	visible, inFlight := s.queues.Count(s.t, s.queues.URL)
	if inFlight != 0 {
		s.t.Errorf("%d messages in flight after the worker exited, want 0", inFlight)
	}
	succeeded := 0
	for _, key := range runKeys {
		if out, _, err := s.run("runs", "show", key); err == nil && strings.Contains(out, "succeeded (attempt") {
			succeeded++
		}
	}
	if succeeded+visible != len(runKeys) {
		s.t.Errorf("%d runs succeeded and %d messages are visible, want %d in all", succeeded, visible, len(runKeys))
	}
}
