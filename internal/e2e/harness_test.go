// Package e2e runs the batchport binary against the local stack: a worker
// process, messages sent by batchport enqueue and by the AWS CLI, and the
// files that arrive in S3 and on the SFTP server.
package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/batchport/batchport/internal/testenv"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "batchport-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "batchport")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/batchport")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building batchport:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// stack is one test's own slice of the local stack.
type stack struct {
	t         *testing.T
	env       *testenv.Env
	queues    *testenv.Queues
	bucket    string
	ledgerURL string
	sftpDir   string
	jobsDir   string
	workers   []*worker
}

func newStack(t *testing.T) *stack {
	return newStackWithReceives(t, 3)
}

// newStackWithReceives is newStack with a queue that dead-letters a
// message after maxReceives receives.
func newStackWithReceives(t *testing.T, maxReceives int) *stack {
	env := testenv.Require(t)
	s := &stack{
		t:         t,
		env:       env,
		queues:    env.NewQueues(t, maxReceives),
		bucket:    env.NewBucket(t),
		ledgerURL: env.NewDatabase(t),
		sftpDir:   env.NewSFTPDir(t),
		jobsDir:   t.TempDir(),
	}
	s.copySampleJob()
	return s
}

// copySampleJob copies the sample job into the test's catalog, delivering
// into the test's own SFTP folder.
func (s *stack) copySampleJob() {
	source := filepath.Join("..", "..", "jobs", "partner-daily-orders")
	target := filepath.Join(s.jobsDir, "partner-daily-orders")
	if err := os.MkdirAll(target, 0o755); err != nil {
		s.t.Fatal(err)
	}
	for _, name := range []string{"job.yaml", "query.sql"} {
		data, err := os.ReadFile(filepath.Join(source, name))
		if err != nil {
			s.t.Fatal(err)
		}
		if name == "job.yaml" {
			data = bytes.Replace(data, []byte("dir: /inbox\n"), []byte("dir: "+s.sftpDir+"\n"), 1)
			if !bytes.Contains(data, []byte(s.sftpDir)) {
				s.t.Fatal("the sample job.yaml no longer has the line 'dir: /inbox'")
			}
		}
		if err := os.WriteFile(filepath.Join(target, name), data, 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
}

// addJob writes a job folder into the test's catalog.
func (s *stack) addJob(name, jobYAML, querySQL string) {
	dir := filepath.Join(s.jobsDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
	for file, content := range map[string]string{"job.yaml": jobYAML, "query.sql": querySQL} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *stack) environ() []string {
	return append(os.Environ(),
		"BATCHPORT_QUEUE_URL="+s.queues.URL,
		"BATCHPORT_DLQ_URL=",
		"BATCHPORT_BACKUP_BUCKET="+s.bucket,
		"BATCHPORT_LEDGER_URL="+s.ledgerURL,
		"BATCHPORT_JOBS_DIR="+s.jobsDir,
		"BATCHPORT_LOG_FORMAT=json",
		"BATCHPORT_VISIBILITY_TIMEOUT=30s",
	)
}

// batchport runs the binary to its end and returns stdout; it fails the
// test on a non-zero exit.
func (s *stack) batchport(args ...string) string {
	s.t.Helper()
	out, stderr, err := s.run(args...)
	if err != nil {
		s.t.Fatalf("batchport %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, stderr)
	}
	return out
}

func (s *stack) run(args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = s.environ()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// awsSend sends body to the test's queue with the AWS CLI, as an operator
// would. The CLI (version 1.45) gives its sqs commands a fixed endpoint that
// overrides AWS_ENDPOINT_URL_SQS, so the endpoint is passed as a flag.
func (s *stack) awsSend(body string) {
	s.t.Helper()
	cmd := exec.Command("aws", "sqs", "send-message", "--endpoint-url", os.Getenv("AWS_ENDPOINT_URL_SQS"),
		"--queue-url", s.queues.URL, "--message-body", body)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("aws sqs send-message: %v: %s", err, out)
	}
}

// worker is a running `batchport worker` process.
type worker struct {
	cmd    *exec.Cmd
	logs   *syncBuffer
	done   chan error
	killed atomic.Bool
}

func (s *stack) startWorker() *worker {
	s.t.Helper()
	return s.startWorkerWith()
}

// startWorkerWith starts a worker with extra NAME=VALUE environment entries,
// which override the stack's.
func (s *stack) startWorkerWith(extraEnv ...string) *worker {
	s.t.Helper()
	w := &worker{cmd: exec.Command(binary, "worker"), logs: &syncBuffer{}, done: make(chan error, 1)}
	w.cmd.Env = append(s.environ(), extraEnv...)
	w.cmd.Stdout, w.cmd.Stderr = w.logs, w.logs
	if err := w.cmd.Start(); err != nil {
		s.t.Fatalf("starting the worker: %v", err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	s.workers = append(s.workers, w)
	s.t.Cleanup(func() {
		// Every worker gets SIGTERM first, so their last long polls end together.
		for _, other := range s.workers {
			other.signal(syscall.SIGTERM)
		}
		if err := w.stop(30 * time.Second); err != nil {
			s.t.Errorf("worker shutdown: %v", err)
		}
		if s.t.Failed() {
			s.t.Logf("worker log:\n%s", w.logs.String())
		}
	})
	return w
}

// stop sends SIGTERM and waits; it returns an error unless the worker exits
// with status 0 in time, or was killed on purpose with kill.
func (w *worker) stop(timeout time.Duration) error {
	w.signal(syscall.SIGTERM)
	select {
	case err := <-w.done:
		w.done <- err
		if w.killed.Load() {
			return nil
		}
		return err
	case <-time.After(timeout):
		_ = w.cmd.Process.Kill()
		return fmt.Errorf("no exit within %s of SIGTERM", timeout)
	}
}

// signal sends sig unless the worker has exited.
func (w *worker) signal(sig os.Signal) {
	select {
	case err := <-w.done:
		w.done <- err
	default:
		_ = w.cmd.Process.Signal(sig)
	}
}

// kill ends the worker with SIGKILL, as a crash would, and waits for it.
func (w *worker) kill() {
	w.killed.Store(true)
	_ = w.cmd.Process.Kill()
	err := <-w.done
	w.done <- err
}

// logLines returns the worker's JSON log lines that have every key=value in match.
func (w *worker) logLines(match map[string]string) []map[string]any {
	var found []map[string]any
	for _, line := range strings.Split(w.logs.String(), "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		ok := true
		for key, want := range match {
			if fmt.Sprint(entry[key]) != want {
				ok = false
			}
		}
		if ok {
			found = append(found, entry)
		}
	}
	return found
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ledgerRun is the part of `batchport runs show --json` the tests read.
type ledgerRun struct {
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	DeadLetteredAt *time.Time `json:"dead_lettered_at"`
	Steps          []struct {
		Name   string          `json:"name"`
		Result json.RawMessage `json:"result"`
	} `json:"steps"`
}

type exportResult struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

type deliverResult struct {
	RemotePath string `json:"remote_path"`
	SHA256     string `json:"sha256"`
}

// waitSucceeded polls the ledger until runKey succeeded and returns its step results.
func (s *stack) waitSucceeded(runKey string, timeout time.Duration) (exportResult, deliverResult) {
	s.t.Helper()
	var run ledgerRun
	testenv.WaitFor(s.t, timeout, "run "+runKey+" to succeed", func() bool {
		out, _, err := s.run("runs", "show", runKey, "--json")
		return err == nil && json.Unmarshal([]byte(out), &run) == nil && run.Status == "succeeded"
	})
	var export exportResult
	var deliver deliverResult
	for _, step := range run.Steps {
		switch step.Name {
		case "export":
			_ = json.Unmarshal(step.Result, &export)
		case "deliver/0":
			_ = json.Unmarshal(step.Result, &deliver)
		}
	}
	if export.Key == "" || deliver.RemotePath == "" {
		s.t.Fatalf("run %s succeeded without both step results: %+v", runKey, run.Steps)
	}
	return export, deliver
}

// s3Object returns the bytes of the backup object.
func (s *stack) s3Object(key string) []byte {
	s.t.Helper()
	out, err := testenv.S3Client(s.t).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		s.t.Fatalf("reading s3://%s/%s: %v", s.bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return data
}

// delivered returns the bytes of a file on the SFTP server, read from its folder on disk.
func (s *stack) delivered(remotePath string) []byte {
	s.t.Helper()
	data, err := os.ReadFile(filepath.Join(s.env.SFTPRoot, remotePath))
	if err != nil {
		s.t.Fatalf("reading the delivered file: %v", err)
	}
	return data
}

// psqlExport returns what `psql \copy (query) to stdout with (format csv, header)`
// prints for the sample query with the given date, the output of the legacy batch.
func (s *stack) psqlExport(date string) []byte {
	s.t.Helper()
	sql, err := os.ReadFile(filepath.Join(s.jobsDir, "partner-daily-orders", "query.sql"))
	if err != nil {
		s.t.Fatal(err)
	}
	// \copy takes its query on one line, so comment lines go and the rest is joined.
	var lines []string
	for _, line := range strings.Split(string(sql), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			lines = append(lines, line)
		}
	}
	query := strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, " ")), ";")
	cmd := exec.Command("psql", s.env.DatabaseURL, "-X", "-v", "ON_ERROR_STOP=1", "-c", `\copy (`+query+`) to stdout with (format csv, header)`)
	cmd.Env = append(os.Environ(), "PGOPTIONS=-c batchport.param.date="+date+" -c TimeZone=Asia/Tokyo")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		s.t.Fatalf("psql: %v: %s", err, stderr.String())
	}
	return out
}

// csvRecords counts the records a CSV reader finds in data.
func csvRecords(t *testing.T, data []byte) int {
	t.Helper()
	records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("parsing the CSV: %v", err)
	}
	return len(records)
}
