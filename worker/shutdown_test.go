package worker

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/batchport/batchport/internal/runner"
)

// TestShutdownCancelsAfterDrain runs a job longer than the drain timeout
// and checks that shutdown cancels it, counting the drain timeout from the
// signal, and makes its message visible at once.
func TestShutdownCancelsAfterDrain(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		queue := &fakeQueue{script: []receiveStep{{messages: []types.Message{sqsMessage("m1", 1, "long job")}}}}
		executor := &fakeExecutor{run: resultAfter(time.Hour, runner.Result{Kind: runner.Succeeded})}
		cfg := testConfig()
		cfg.DrainTimeout = 5 * time.Second
		worker := startWorker(t, queue, executor, cfg, nil)

		time.Sleep(time.Second)
		shutdownAt := time.Now()
		if err := worker.shutdown(); err != nil {
			t.Errorf("Run = %v, want nil after a clean shutdown", err)
		}

		spans := executor.executed()
		if len(spans) != 1 {
			t.Fatalf("jobs run = %d, want 1", len(spans))
		}
		if !spans[0].cancelled {
			t.Error("the job's context was not cancelled, want it cancelled once the drain timeout passed")
		}
		if got := spans[0].end.Sub(shutdownAt); got != cfg.DrainTimeout {
			t.Errorf("job ended %s after shutdown began, want the drain timeout %s counted from the signal", got, cfg.DrainTimeout)
		}
		if got := queue.ops(); !slices.Equal(got, []string{"visibility rh-m1"}) {
			t.Fatalf("queue calls = %v, want only [visibility rh-m1]: the message is released, not deleted", got)
		}
		if got := queue.callsOf("visibility")[0].visibility; got != 0 {
			t.Errorf("visibility = %s, want 0 so another worker takes the message at once", got)
		}
		if released := queue.callsOf("visibility")[0].at; released != spans[0].end {
			t.Errorf("message released %s after the job was cancelled, want at once", released.Sub(spans[0].end))
		}
		if got, limit := time.Since(shutdownAt), max(cfg.DrainTimeout, 20*time.Second); got > limit {
			t.Errorf("Run returned %s after shutdown began, want at most %s (drain timeout or one long poll)", got, limit)
		}
		for _, receive := range queue.callsOf("receive") {
			if receive.at.After(shutdownAt) {
				t.Errorf("receive at %s, after shutdown began at %s, want none", receive.at, shutdownAt)
			}
		}
	})
}

// TestShutdownSendsAgainBeforeLimit cancels a job on its second receive of
// three. Released, the message would reach the DLQ on one more shutdown
// without ever failing, so it goes back as a new message instead.
func TestShutdownSendsAgainBeforeLimit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		queue := &fakeQueue{script: []receiveStep{{messages: []types.Message{sqsMessage("m1", 2, "long job")}}}}
		executor := &fakeExecutor{run: resultAfter(time.Hour, runner.Result{Kind: runner.Succeeded})}
		cfg := testConfig()
		cfg.DrainTimeout = 5 * time.Second
		cfg.MaxReceiveCount = 3
		worker := startWorker(t, queue, executor, cfg, nil)

		time.Sleep(time.Second)
		if err := worker.shutdown(); err != nil {
			t.Errorf("Run = %v, want nil after a clean shutdown", err)
		}

		if got := queue.ops(); !slices.Equal(got, []string{"send", "delete rh-m1"}) {
			t.Fatalf("queue calls = %v, want [send delete rh-m1]: the message sent again, then the original deleted", got)
		}
		sent := queue.callsOf("send")[0].send
		if got := aws.ToString(sent.MessageBody); got != "long job" {
			t.Errorf("body sent again = %q, want the original %q", got, "long job")
		}
		if sent.DelaySeconds != 0 {
			t.Errorf("DelaySeconds = %d, want 0 so another worker takes it at once", sent.DelaySeconds)
		}
	})
}

func TestShutdownLetsJobFinish(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		queue := &fakeQueue{script: []receiveStep{{messages: []types.Message{sqsMessage("m1", 1, "short job")}}}}
		executor := &fakeExecutor{run: resultAfter(3*time.Second, runner.Result{Kind: runner.Succeeded})}
		cfg := testConfig()
		cfg.DrainTimeout = 5 * time.Second
		worker := startWorker(t, queue, executor, cfg, nil)

		time.Sleep(time.Second)
		if err := worker.shutdown(); err != nil {
			t.Errorf("Run = %v, want nil after a clean shutdown", err)
		}

		spans := executor.executed()
		if len(spans) != 1 {
			t.Fatalf("jobs run = %d, want 1", len(spans))
		}
		if spans[0].cancelled {
			t.Error("the job's context was cancelled, want it alive within the drain timeout")
		}
		if got := queue.ops(); !slices.Equal(got, []string{"delete rh-m1"}) {
			t.Errorf("queue calls = %v, want [delete rh-m1]: a job finished while draining is deleted", got)
		}
	})
}

// TestShutdownReleasesLatePoll covers SIGTERM during a long poll. SQS
// returns messages after shutdown began, and the worker must release them
// at once instead of leaving them hidden for the visibility timeout.
func TestShutdownReleasesLatePoll(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		queue := &fakeQueue{script: []receiveStep{{
			messages: []types.Message{sqsMessage("m1", 1, "a"), sqsMessage("m2", 1, "b")},
			delay:    15 * time.Second,
		}}}
		executor := &fakeExecutor{run: resultAfter(0, runner.Result{Kind: runner.Succeeded})}
		logs := &syncBuffer{}
		worker := startWorker(t, queue, executor, testConfig(), slog.New(slog.NewJSONHandler(logs, nil)))

		time.Sleep(5 * time.Second)
		shutdownAt := time.Now()
		if err := worker.shutdown(); err != nil {
			t.Errorf("Run = %v, want nil after a clean shutdown", err)
		}

		// Each delete lingers deleteLinger for others to share its call.
		if got, latest := time.Since(shutdownAt), 10*time.Second+2*deleteLinger; got < 10*time.Second || got > latest {
			t.Errorf("Run returned %s after shutdown began, want between 10s (when the poll answers) and %s", got, latest)
		}
		if got := len(executor.executed()); got != 0 {
			t.Errorf("jobs run = %d, want 0: messages received during shutdown are not started", got)
		}
		// Each goes back as a new message, so the receive does not count.
		if got := queue.ops(); !slices.Equal(got, []string{"send", "delete rh-m1", "send", "delete rh-m2"}) {
			t.Fatalf("queue calls = %v, want each late message sent again, then deleted", got)
		}
		for i, call := range queue.callsOf("send") {
			if got, want := aws.ToString(call.send.MessageBody), []string{"a", "b"}[i]; got != want {
				t.Errorf("message sent again with body %q, want %q", got, want)
			}
			if call.send.DelaySeconds != 0 {
				t.Errorf("message sent again with a delay of %d s, want 0", call.send.DelaySeconds)
			}
			if got, want := call.at.Sub(shutdownAt), 10*time.Second+time.Duration(i)*deleteLinger; got != want {
				t.Errorf("message sent again %s after shutdown began, want %s: at once when the poll answers, after the previous delete", got, want)
			}
		}
		if queue.pollsCancelled != 0 {
			t.Errorf("polls cancelled = %d, want 0: a poll in progress ends by itself, so SQS hands out nothing to a request that went away", queue.pollsCancelled)
		}
		// The receive counts toward the queue's limit, so each release is logged.
		released := 0
		for _, record := range logs.records(t) {
			if record["msg"] == "worker: message received during shutdown, released unrun" {
				released++
			}
		}
		if released != 2 {
			t.Errorf("release log lines = %d, want 2, one per message", released)
		}
	})
}

func TestShutdownIdleWorker(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		queue := &fakeQueue{}
		worker := startWorker(t, queue, &fakeExecutor{}, testConfig(), nil)

		time.Sleep(30 * time.Second)
		shutdownAt := time.Now()
		if err := worker.shutdown(); err != nil {
			t.Errorf("Run = %v, want nil", err)
		}

		if got := time.Since(shutdownAt); got > 20*time.Second {
			t.Errorf("Run returned %s after shutdown began, want within one long poll (20s)", got)
		}
		if got := len(queue.callsOf("receive")); got != 2 {
			t.Errorf("receives = %d, want 2 in 30 s of 20 s polls and none after shutdown", got)
		}
		if got := queue.ops(); len(got) != 0 {
			t.Errorf("queue calls = %v, want none besides receives", got)
		}
	})
}

// TestShutdownDrainsSeveralJobs checks that jobs still running at the drain
// timeout are cancelled together, while one that finished in time is deleted.
func TestShutdownDrainsSeveralJobs(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		durations := map[string]time.Duration{"fast": 2 * time.Second, "slow": time.Hour, "slower": 2 * time.Hour}
		queue := &fakeQueue{script: []receiveStep{{messages: []types.Message{
			sqsMessage("fast", 1, "fast"), sqsMessage("slow", 1, "slow"), sqsMessage("slower", 1, "slower"),
		}}}}
		executor := &fakeExecutor{run: func(ctx context.Context, body string) runner.Result {
			return resultAfter(durations[body], runner.Result{Kind: runner.Succeeded})(ctx, body)
		}}
		cfg := testConfig()
		cfg.DrainTimeout = 10 * time.Second
		worker := startWorker(t, queue, executor, cfg, nil)

		synctest.Wait()
		if err := worker.shutdown(); err != nil {
			t.Errorf("Run = %v, want nil", err)
		}

		ops := queue.ops()
		slices.Sort(ops)
		want := []string{"delete rh-fast", "visibility rh-slow", "visibility rh-slower"}
		if !slices.Equal(ops, want) {
			t.Errorf("queue calls = %v, want %v", ops, want)
		}
		for _, call := range queue.callsOf("visibility") {
			if call.visibility != 0 {
				t.Errorf("visibility of %s = %s, want 0", call.receiptHandle, call.visibility)
			}
		}
	})
}

// TestShutdownDrainTimerAfterRun checks that the drain timer of a worker
// whose jobs finished in time does nothing when it fires after Run returned.
func TestShutdownDrainTimerAfterRun(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		queue := &fakeQueue{script: []receiveStep{{messages: []types.Message{sqsMessage("m1", 1, "job")}}}}
		executor := &fakeExecutor{run: resultAfter(time.Second, runner.Result{Kind: runner.Succeeded})}
		cfg := testConfig()
		cfg.DrainTimeout = 5 * time.Second
		worker := startWorker(t, queue, executor, cfg, nil)

		synctest.Wait()
		if err := worker.shutdown(); err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()

		if got := queue.ops(); !slices.Equal(got, []string{"delete rh-m1"}) {
			t.Errorf("queue calls = %v, want only [delete rh-m1]", got)
		}
	})
}

// TestShutdownDuringBackoff shuts a worker down while it backs off after a
// failed receive and checks that it starts no new long poll, which shutdown
// would not cut short.
func TestShutdownDuringBackoff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		queue := &fakeQueue{receiveErr: errors.New("dial tcp 127.0.0.1:4566: connect: connection refused")}
		worker := startWorker(t, queue, &fakeExecutor{}, testConfig(), nil)

		time.Sleep(2 * time.Second) // receives at 0 s and 1 s, then a 2 s backoff
		shutdownAt := time.Now()
		if err := worker.shutdown(); err != nil {
			t.Errorf("Run = %v, want nil", err)
		}

		for _, receive := range queue.callsOf("receive") {
			if !receive.at.Before(shutdownAt) {
				t.Errorf("receive at +%s, when shutdown began, want none once the worker's context is cancelled", receive.at.Sub(shutdownAt))
			}
		}
	})
}
