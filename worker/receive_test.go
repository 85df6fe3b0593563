package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/batchport/batchport/internal/runner"
)

func TestNewConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"missing queue URL", Config{DLQURL: testDLQURL}, "QueueURL is missing"},
		{"missing DLQ URL", Config{QueueURL: testQueueURL}, "BATCHPORT_DLQ_URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(&fakeQueue{}, &fakeExecutor{}, tc.cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				t.Fatal("New returned no error, want one")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New error = %q, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	w, err := New(&fakeQueue{}, &fakeExecutor{}, testConfig(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if w.config.Concurrency != 4 {
		t.Errorf("Concurrency = %d, want the default 4", w.config.Concurrency)
	}
	if cap(w.slots) != 4 {
		t.Errorf("slots = %d, want one per concurrent job (4)", cap(w.slots))
	}
	if w.config.VisibilityTimeout != 60*time.Second {
		t.Errorf("VisibilityTimeout = %s, want the default 60s", w.config.VisibilityTimeout)
	}
	if w.config.DrainTimeout != 100*time.Second {
		t.Errorf("DrainTimeout = %s, want the default 100s", w.config.DrainTimeout)
	}
	if w.config.WaitTime != 20*time.Second {
		t.Errorf("WaitTime = %s, want the default 20s, the SQS maximum", w.config.WaitTime)
	}
}

func TestReceiveRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		concurrency int
		wantMax     int32
	}{
		{"one slot", 1, 1},
		{"four slots", 4, 4},
		{"over the SQS maximum", 25, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				queue := &fakeQueue{}
				cfg := testConfig()
				cfg.Concurrency = tc.concurrency
				cfg.VisibilityTimeout = 90 * time.Second
				worker := startWorker(t, queue, &fakeExecutor{}, cfg, nil)
				synctest.Wait()
				if err := worker.shutdown(); err != nil {
					t.Fatalf("Run: %v", err)
				}

				receives := queue.callsOf("receive")
				if len(receives) == 0 {
					t.Fatal("the worker made no ReceiveMessage call")
				}
				in := receives[0].receive
				if in.MaxNumberOfMessages != tc.wantMax {
					t.Errorf("MaxNumberOfMessages = %d, want %d", in.MaxNumberOfMessages, tc.wantMax)
				}
				if in.WaitTimeSeconds != 20 {
					t.Errorf("WaitTimeSeconds = %d, want 20 (long polling)", in.WaitTimeSeconds)
				}
				if in.VisibilityTimeout != 90 {
					t.Errorf("VisibilityTimeout = %d, want the configured 90", in.VisibilityTimeout)
				}
				if got := aws.ToString(in.QueueUrl); got != testQueueURL {
					t.Errorf("QueueUrl = %q, want %q", got, testQueueURL)
				}
				if !slices.Contains(in.MessageSystemAttributeNames, types.MessageSystemAttributeNameApproximateReceiveCount) {
					t.Errorf("MessageSystemAttributeNames = %v, want ApproximateReceiveCount for the retry backoff", in.MessageSystemAttributeNames)
				}
			})
		})
	}
}

// TestReceiveOnlyFreeSlots runs jobs of 10 s, 20 s and 5 s with two slots and
// checks that no receive requests more messages than there are free slots.
func TestReceiveOnlyFreeSlots(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		durations := map[string]time.Duration{"a": 10 * time.Second, "b": 20 * time.Second, "c": 5 * time.Second}
		queue := &fakeQueue{script: []receiveStep{
			{messages: []types.Message{sqsMessage("a", 1, "a"), sqsMessage("b", 1, "b")}},
			{messages: []types.Message{sqsMessage("c", 1, "c")}},
		}}
		executor := &fakeExecutor{run: func(ctx context.Context, body string) runner.Result {
			return resultAfter(durations[body], runner.Result{Kind: runner.Succeeded})(ctx, body)
		}}
		queue.runningJobs = executor.running
		cfg := testConfig()
		cfg.Concurrency = 2
		start := time.Now()
		worker := startWorker(t, queue, executor, cfg, nil)

		time.Sleep(40 * time.Second)
		if err := worker.shutdown(); err != nil {
			t.Fatalf("Run: %v", err)
		}

		receives := queue.callsOf("receive")
		if len(receives) < 3 {
			t.Fatalf("receives = %d, want at least 3", len(receives))
		}
		if got := receives[0].receive.MaxNumberOfMessages; got != 2 {
			t.Errorf("first receive MaxNumberOfMessages = %d, want 2 with both slots free", got)
		}
		// Each receive after a job comes once the job frees its slot and the
		// gather window for more free slots has passed. It does not wait
		// for the job's delete.
		step := gatherWindow
		if got := receives[1].at.Sub(start); got != 10*time.Second+step {
			t.Errorf("second receive at %s, want 10s and %s: only when job a frees a slot", got, step)
		}
		if got := receives[1].receive.MaxNumberOfMessages; got != 1 {
			t.Errorf("second receive MaxNumberOfMessages = %d, want 1 while job b runs", got)
		}
		if got := receives[2].at.Sub(start); got != 15*time.Second+2*step {
			t.Errorf("third receive at %s, want 15s and 2 × %s, when job c ends", got, step)
		}
		if got := receives[2].receive.MaxNumberOfMessages; got != 1 {
			t.Errorf("third receive MaxNumberOfMessages = %d, want 1 while job b runs", got)
		}

		for i, receive := range receives {
			if free := int32(cfg.Concurrency - receive.running); receive.receive.MaxNumberOfMessages > free {
				t.Errorf("receive %d at %s asked for %d messages with %d jobs running, want at most %d",
					i, receive.at.Sub(start), receive.receive.MaxNumberOfMessages, receive.running, free)
			}
		}
	})
}

// TestSlowDeletesHoldBackReceives runs instant jobs with two slots against
// a queue whose deletes take 10 s each. Finished jobs free their slots at
// once, so the second receive does not wait for the first delete. At most
// two finished messages wait for their deletes, so the worker holds at most
// four messages and stops receiving until a delete is done.
func TestSlowDeletesHoldBackReceives(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var script []receiveStep
		for i := range 6 {
			a, b := fmt.Sprintf("m%da", i), fmt.Sprintf("m%db", i)
			script = append(script, receiveStep{messages: []types.Message{sqsMessage(a, 1, a), sqsMessage(b, 1, b)}})
		}
		queue := &fakeQueue{script: script, deleteDelay: 10 * time.Second}
		executor := &fakeExecutor{run: func(context.Context, string) runner.Result {
			return runner.Result{Kind: runner.Succeeded}
		}}
		cfg := testConfig()
		cfg.Concurrency = 2
		start := time.Now()
		worker := startWorker(t, queue, executor, cfg, nil)

		time.Sleep(5 * time.Second)
		receives := queue.callsOf("receive")
		if len(receives) != 2 {
			t.Errorf("receives in the first 5 s = %d, want 2: two messages settling and two waiting to settle", len(receives))
		}
		if len(receives) >= 2 {
			if got := receives[1].at.Sub(start); got > time.Second {
				t.Errorf("second receive at %s, want it before the first delete ends at 10s", got)
			}
		}
		time.Sleep(10 * time.Second)
		if got := len(queue.callsOf("receive")); got <= 2 {
			t.Errorf("receives after the first delete = %d, want more than 2", got)
		}
		if err := worker.shutdown(); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

// TestReceiveErrorsRateLimited fails every receive for five minutes and
// checks that the errors are logged about once a minute, with backoff.
func TestReceiveErrorsRateLimited(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		logs := &syncBuffer{}
		logger := slog.New(slog.NewJSONHandler(logs, nil))
		queue := &fakeQueue{receiveErr: errors.New("dial tcp 127.0.0.1:4566: connect: connection refused")}
		worker := startWorker(t, queue, &fakeExecutor{}, testConfig(), logger)

		time.Sleep(5 * time.Minute)
		if err := worker.shutdown(); err != nil {
			t.Fatalf("Run: %v", err)
		}

		receives := queue.callsOf("receive")
		lines := withMessage(logs.records(t), "worker: receiving messages failed")
		if len(receives) < 10 {
			t.Errorf("receives in 5 minutes = %d, want at least 10: the worker keeps trying", len(receives))
		}
		if len(lines) < 2 {
			t.Fatalf("error lines = %d, want at least 2: the first at once and more after a minute", len(lines))
		}
		if len(lines) > 6 {
			t.Errorf("error lines = %d for %d failed receives in 5 minutes, want at most 6 (one a minute)", len(lines), len(receives))
		}
		if suppressed, _ := lines[1]["suppressed"].(float64); suppressed < 1 {
			t.Errorf("second error line suppressed = %v, want the count of errors not logged since the first", lines[1]["suppressed"])
		}
		if lines[0]["error"] == nil {
			t.Errorf("first error line = %v, want the receive error in it", lines[0])
		}

		for i := 1; i < len(receives); i++ {
			gap := receives[i].at.Sub(receives[i-1].at)
			if gap < time.Second || gap > 30*time.Second {
				t.Errorf("gap before receive %d = %s, want a backoff of 1s to 30s", i, gap)
			}
			if i > 1 && gap < receives[i-1].at.Sub(receives[i-2].at) {
				t.Errorf("gap before receive %d = %s, shorter than the one before: the backoff must not shrink while receives fail", i, gap)
			}
		}
	})
}

func TestReceiveErrorThenRecovers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		queue := &fakeQueue{script: []receiveStep{
			{err: errors.New("throttled")},
			{messages: []types.Message{sqsMessage("m1", 1, "body")}},
		}}
		executor := &fakeExecutor{run: resultAfter(0, runner.Result{Kind: runner.Succeeded})}
		worker := startWorker(t, queue, executor, testConfig(), nil)

		time.Sleep(5 * time.Second)
		if err := worker.shutdown(); err != nil {
			t.Fatalf("Run: %v", err)
		}

		if got := len(executor.executed()); got != 1 {
			t.Errorf("jobs run = %d, want 1 from the receive after the failed one", got)
		}
		if got := queue.ops(); !slices.Equal(got, []string{"delete rh-m1"}) {
			t.Errorf("queue calls = %v, want [delete rh-m1]", got)
		}
	})
}

func TestRateLimitedLog(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		logs := &syncBuffer{}
		log := newRateLimitedLog(slog.New(slog.NewJSONHandler(logs, nil)), time.Minute)

		for range 3 {
			log.Error("poll failed")
		}
		if got := len(logs.records(t)); got != 1 {
			t.Fatalf("lines after 3 errors at once = %d, want 1", got)
		}

		time.Sleep(59 * time.Second)
		log.Error("poll failed")
		if got := len(logs.records(t)); got != 1 {
			t.Fatalf("lines after an error within the minute = %d, want still 1", got)
		}

		time.Sleep(time.Second)
		log.Error("poll failed")
		records := logs.records(t)
		if len(records) != 2 {
			t.Fatalf("lines after the minute = %d, want 2", len(records))
		}
		if got := records[1]["suppressed"]; got != float64(3) {
			t.Errorf("suppressed = %v, want 3 errors not logged since the first line", got)
		}

		time.Sleep(time.Minute)
		log.Error("poll failed")
		records = logs.records(t)
		if _, ok := records[len(records)-1]["suppressed"]; ok {
			t.Errorf("last line = %v, want no suppressed count when nothing was suppressed", records[len(records)-1])
		}
	})
}
