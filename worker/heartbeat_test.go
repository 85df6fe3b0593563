package worker

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/batchport/batchport/internal/runner"
)

// newTestHeartbeat returns a heartbeat for message m1 that is not started.
func newTestHeartbeat(queue Queue, timeout time.Duration, receivedAt time.Time) *heartbeat {
	return &heartbeat{
		queue:      queue,
		queueURL:   testQueueURL,
		message:    sqsMessage("m1", 1, "body"),
		timeout:    timeout,
		receivedAt: receivedAt,
		now:        time.Now,
		onError:    func(error) {},
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
}

// TestHeartbeatExtendsVisibility runs a 5 s job with a 3 s visibility
// timeout and checks that its message is kept invisible until it is deleted.
func TestHeartbeatExtendsVisibility(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		queue := &fakeQueue{script: []receiveStep{{messages: []types.Message{sqsMessage("m1", 1, "job")}}}}
		executor := &fakeExecutor{run: resultAfter(5*time.Second, runner.Result{Kind: runner.Succeeded})}
		cfg := testConfig()
		cfg.VisibilityTimeout = 3 * time.Second
		worker := startWorker(t, queue, executor, cfg, nil)

		time.Sleep(10 * time.Second)
		if err := worker.shutdown(); err != nil {
			t.Fatalf("Run: %v", err)
		}

		extensions := queue.callsOf("visibility")
		if len(extensions) < 4 {
			t.Fatalf("visibility extensions = %d during a 5 s job, want at least 4 (one every third of 3 s)", len(extensions))
		}
		for i, call := range extensions {
			if call.receiptHandle != "rh-m1" {
				t.Errorf("extension %d receipt handle = %q, want rh-m1", i, call.receiptHandle)
			}
			if call.visibility != 3*time.Second {
				t.Errorf("extension %d visibility = %s, want the configured 3s", i, call.visibility)
			}
		}
		ops := queue.ops()
		if last := ops[len(ops)-1]; last != "delete rh-m1" {
			t.Errorf("queue calls = %v, want the delete last, after every extension", ops)
		}
		if got := slices.Index(ops, "delete rh-m1"); got != len(extensions) {
			t.Errorf("delete is call %d of %v, want it after all %d extensions", got, ops, len(extensions))
		}
	})
}

func TestHeartbeatNextExtension(t *testing.T) {
	t.Parallel()
	receivedAt := time.Date(2026, 12, 2, 18, 30, 0, 0, time.UTC)
	tests := []struct {
		name    string
		timeout time.Duration
		elapsed time.Duration
		want    time.Duration
		wantOK  bool
	}{
		{"just received", time.Minute, 0, time.Minute, true},
		{"after 11 hours", time.Minute, 11 * time.Hour, time.Minute, true},
		{"a minute before the cap", time.Minute, 11*time.Hour + 59*time.Minute, time.Minute, true},
		{"30 s before the cap", time.Minute, 11*time.Hour + 59*time.Minute + 30*time.Second, 30 * time.Second, true},
		{"1.5 s before the cap", 3 * time.Second, 12*time.Hour - 1500*time.Millisecond, time.Second, true},
		{"half a second before the cap", time.Minute, 12*time.Hour - 500*time.Millisecond, 0, false},
		{"at the cap", time.Minute, 12 * time.Hour, 0, false},
		{"past the cap", time.Minute, 13 * time.Hour, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHeartbeat(&fakeQueue{}, tc.timeout, receivedAt)
			h.now = func() time.Time { return receivedAt.Add(tc.elapsed) }

			got, ok := h.nextExtension()
			if ok != tc.wantOK {
				t.Fatalf("nextExtension() ok = %t, want %t", ok, tc.wantOK)
			}
			if ok && got != tc.want {
				t.Errorf("nextExtension() = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestHeartbeatNeverPastCap sweeps the 12 hours after a receive and checks
// that no extension would end after SQS's limit.
func TestHeartbeatNeverPastCap(t *testing.T) {
	t.Parallel()
	receivedAt := time.Date(2026, 12, 2, 18, 30, 0, 0, time.UTC)
	limit := receivedAt.Add(MaxVisibility)
	for _, timeout := range []time.Duration{time.Second, 3 * time.Second, time.Minute, 12 * time.Hour} {
		now := receivedAt
		h := newTestHeartbeat(&fakeQueue{}, timeout, receivedAt)
		h.now = func() time.Time { return now }
		for ; now.Before(limit.Add(time.Minute)); now = now.Add(7*time.Second + 300*time.Millisecond) {
			extension, ok := h.nextExtension()
			if !ok {
				continue
			}
			if end := now.Add(extension); end.After(limit) {
				t.Fatalf("timeout %s: at +%s the extension %s ends %s past the 12-hour limit",
					timeout, now.Sub(receivedAt), extension, end.Sub(limit))
			}
			if extension > timeout {
				t.Fatalf("timeout %s: at +%s the extension is %s, want at most the timeout", timeout, now.Sub(receivedAt), extension)
			}
		}
	}
}

// TestHeartbeatStopsAtCap starts a heartbeat 2.5 s before the 12-hour limit
// and checks that it requests the time left once, then stops by itself.
func TestHeartbeatStopsAtCap(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		queue := &fakeQueue{}
		h := newTestHeartbeat(queue, 3*time.Second, time.Now().Add(-MaxVisibility+2500*time.Millisecond))
		h.begin()

		time.Sleep(10 * time.Second)
		select {
		case <-h.done:
		default:
			t.Error("heartbeat still runs past the 12-hour limit, want it stopped")
		}
		h.Stop()

		extensions := queue.callsOf("visibility")
		if len(extensions) != 1 {
			t.Fatalf("extensions = %d, want 1 for the 1.5 s left at the first tick", len(extensions))
		}
		if got := extensions[0].visibility; got != time.Second {
			t.Errorf("extension = %s, want 1s, the whole seconds left before the limit", got)
		}
	})
}

// TestHeartbeatStopWaitsInFlight stops a heartbeat while an extension is in
// flight and checks that Stop returns only after it, and that no extension
// follows.
func TestHeartbeatStopWaitsInFlight(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		queue := &fakeQueue{visibilityDelay: 2 * time.Second}
		start := time.Now()
		h := newTestHeartbeat(queue, 3*time.Second, start)
		h.begin()

		time.Sleep(1500 * time.Millisecond) // the first tick at 1 s started a 2 s call
		h.Stop()

		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("Stop returned at %s, want 3s, when the extension in flight ends", got)
		}
		queue.mu.Lock()
		inFlight := queue.inFlight
		queue.mu.Unlock()
		if inFlight != 0 {
			t.Errorf("extensions in flight after Stop = %d, want 0", inFlight)
		}
		before := len(queue.callsOf("visibility"))
		time.Sleep(time.Minute)
		synctest.Wait()
		if after := len(queue.callsOf("visibility")); after != before {
			t.Errorf("extensions = %d after Stop and %d a minute later, want none after Stop", before, after)
		}
	})
}

func TestHeartbeatKeepsGoingAfterError(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		queue := &fakeQueue{visibilityErr: errors.New("ReceiptHandleIsInvalid")}
		h := newTestHeartbeat(queue, 3*time.Second, time.Now())
		var mu sync.Mutex
		var reported []error
		h.onError = func(err error) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, err)
		}
		h.begin()

		time.Sleep(3500 * time.Millisecond)
		h.Stop()

		if got := len(queue.callsOf("visibility")); got != 3 {
			t.Errorf("extensions = %d in 3.5 s, want 3: a failed call does not stop the heartbeat", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(reported) != 3 {
			t.Errorf("errors reported = %d, want 3, one per failed extension", len(reported))
		}
	})
}
