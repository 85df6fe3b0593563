package worker

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/batchport/batchport/internal/runner"
)

// handleOne runs a worker until it has handled one message with the given
// receive count, whose job returns result at once, and returns the queue.
// leaseIn, if set, makes result a Busy whose lease ends that long after the
// job ran.
func handleOne(t *testing.T, receiveCount int, result runner.Result, leaseIn time.Duration) *fakeQueue {
	t.Helper()
	queue := &fakeQueue{script: []receiveStep{{messages: []types.Message{sqsMessage("m1", receiveCount, `{"version":1,"job":"daily-orders"}`)}}}}
	executor := &fakeExecutor{run: func(ctx context.Context, body string) runner.Result {
		if leaseIn != 0 {
			result.LeaseExpiresAt = time.Now().Add(leaseIn)
		}
		return result
	}}
	worker := startWorker(t, queue, executor, testConfig(), nil)
	synctest.Wait()
	if err := worker.shutdown(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := len(executor.executed()); got != 1 {
		t.Fatalf("jobs run = %d, want 1", got)
	}
	return queue
}

func TestOutcomeDeletes(t *testing.T) {
	t.Parallel()
	for _, kind := range []runner.Kind{runner.Succeeded, runner.Duplicate} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				queue := handleOne(t, 1, runner.Result{Kind: kind, Job: "daily-orders", RunKey: "daily-orders/2026-12-02"}, 0)

				if got := queue.ops(); !slices.Equal(got, []string{"delete rh-m1"}) {
					t.Errorf("queue calls = %v, want only [delete rh-m1]", got)
				}
			})
		})
	}
}

func TestOutcomeVisibility(t *testing.T) {
	t.Parallel()
	retry := runner.Result{Kind: runner.Retry, Err: errors.New("connection refused"), Reason: "transient"}
	tests := []struct {
		name         string
		receiveCount int
		result       runner.Result
		leaseIn      time.Duration
		min, max     time.Duration
	}{
		{"busy until lease end", 1, runner.Result{Kind: runner.Busy}, 90 * time.Second, 90 * time.Second, 92 * time.Second},
		{"busy with lease just over", 1, runner.Result{Kind: runner.Busy}, -10 * time.Second, 0, 0},
		{"busy beyond 12 hours", 1, runner.Result{Kind: runner.Busy}, 13 * time.Hour, MaxVisibility, MaxVisibility},
		{"retry on first receive", 1, retry, 0, 5 * time.Second, 10 * time.Second},
		{"retry on third receive", 3, retry, 0, 20 * time.Second, 40 * time.Second},
		{"retry on twentieth receive", 20, retry, 0, 450 * time.Second, 15 * time.Minute},
		{"retry without receive count", 0, retry, 0, 5 * time.Second, 10 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				queue := handleOne(t, tc.receiveCount, tc.result, tc.leaseIn)

				if got := queue.ops(); !slices.Equal(got, []string{"visibility rh-m1"}) {
					t.Fatalf("queue calls = %v, want only [visibility rh-m1]: the message must stay on the queue", got)
				}
				got := queue.callsOf("visibility")[0].visibility
				if got < tc.min || got > tc.max {
					t.Errorf("visibility = %s, want %s to %s", got, tc.min, tc.max)
				}
			})
		})
	}
}

func TestOutcomePermanentDeadLetters(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		body := "{\"version\":1,\"job\":\"daily-orders\",\"params\":{\"note\":\"caf\u00e9 \\u00e9\"}}\n"
		queue := &fakeQueue{script: []receiveStep{{messages: []types.Message{sqsMessage("m1", 3, body)}}}}
		executor := &fakeExecutor{run: resultAfter(0, runner.Result{
			Kind: runner.Permanent, Job: "daily-orders", RunKey: "daily-orders/2026-12-02", Attempt: 2,
			Err: errors.New(`param "date" "tomorrow" is not a date`), Reason: "invalid_params",
		})}
		worker := startWorker(t, queue, executor, testConfig(), nil)
		synctest.Wait()
		if err := worker.shutdown(); err != nil {
			t.Fatalf("Run: %v", err)
		}

		if got := queue.ops(); !slices.Equal(got, []string{"send", "delete rh-m1"}) {
			t.Fatalf("queue calls = %v, want [send delete rh-m1]: send to the DLQ, then delete the original", got)
		}
		send := queue.callsOf("send")[0].send
		if got := aws.ToString(send.QueueUrl); got != testDLQURL {
			t.Errorf("SendMessage QueueUrl = %q, want the DLQ %q", got, testDLQURL)
		}
		if got := aws.ToString(send.MessageBody); got != body {
			t.Errorf("dead letter body = %q, want the original body %q unchanged", got, body)
		}
		wantAttributes := map[string][2]string{
			AttrErrorClass:   {"String", "invalid_params"},
			AttrErrorMessage: {"String", `param "date" "tomorrow" is not a date`},
			AttrJob:          {"String", "daily-orders"},
			AttrRunKey:       {"String", "daily-orders/2026-12-02"},
			AttrAttempt:      {"Number", "2"},
			AttrReceiveCount: {"Number", "3"},
		}
		for name, want := range wantAttributes {
			attribute, ok := send.MessageAttributes[name]
			if !ok {
				t.Errorf("dead letter attribute %s is missing", name)
				continue
			}
			if got := aws.ToString(attribute.DataType); got != want[0] {
				t.Errorf("attribute %s DataType = %q, want %q", name, got, want[0])
			}
			if got := aws.ToString(attribute.StringValue); got != want[1] {
				t.Errorf("attribute %s = %q, want %q", name, got, want[1])
			}
		}
		if len(send.MessageAttributes) != len(wantAttributes) {
			t.Errorf("dead letter has %d attributes, want %d", len(send.MessageAttributes), len(wantAttributes))
		}
	})
}

func TestDeadLetterInvalidMessage(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		queue := handleOne(t, 1, runner.Result{Kind: runner.Permanent, Err: errors.New("invalid message: not JSON")}, 0)

		sends := queue.callsOf("send")
		if len(sends) != 1 {
			t.Fatalf("SendMessage calls = %d, want 1", len(sends))
		}
		attributes := sends[0].send.MessageAttributes
		for _, name := range []string{AttrJob, AttrRunKey, AttrAttempt} {
			if _, ok := attributes[name]; ok {
				t.Errorf("attribute %s is set for a message that never reached a job, want it left out", name)
			}
		}
		if got := aws.ToString(attributes[AttrErrorClass].StringValue); got != "-" {
			t.Errorf("error class = %q, want - in place of an empty reason, which SQS rejects", got)
		}
	})
}

func TestDeadLetterSendFails(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		queue := &fakeQueue{
			script:  []receiveStep{{messages: []types.Message{sqsMessage("m1", 1, "body")}}},
			sendErr: errors.New("AccessDenied"),
		}
		executor := &fakeExecutor{run: resultAfter(0, runner.Result{Kind: runner.Permanent, Err: errors.New("bad"), Reason: "invalid_message"})}
		worker := startWorker(t, queue, executor, testConfig(), nil)
		synctest.Wait()
		if err := worker.shutdown(); err != nil {
			t.Fatalf("Run: %v", err)
		}

		if got := queue.ops(); !slices.Equal(got, []string{"send"}) {
			t.Errorf("queue calls = %v, want only the failed send: the original must stay until its receive limit", got)
		}
	})
}

func TestRetryDelayBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		receiveCount int
		min, max     time.Duration
	}{
		{1, 5 * time.Second, 10 * time.Second},
		{2, 10 * time.Second, 20 * time.Second},
		{3, 20 * time.Second, 40 * time.Second},
		{4, 40 * time.Second, 80 * time.Second},
		{5, 80 * time.Second, 160 * time.Second},
		{6, 160 * time.Second, 320 * time.Second},
		{7, 320 * time.Second, 640 * time.Second},
		{8, 450 * time.Second, 15 * time.Minute},
		{12, 450 * time.Second, 15 * time.Minute},
		{1000, 450 * time.Second, 15 * time.Minute},
	}
	for _, tc := range tests {
		t.Run("receive "+strconv.Itoa(tc.receiveCount), func(t *testing.T) {
			t.Parallel()
			lowest, highest := time.Duration(1<<62), time.Duration(0)
			for range 2000 {
				delay := retryDelay(tc.receiveCount)
				lowest, highest = min(lowest, delay), max(highest, delay)
			}
			if lowest < tc.min {
				t.Errorf("lowest delay in 2000 draws = %s, want at least %s", lowest, tc.min)
			}
			if highest > tc.max {
				t.Errorf("highest delay in 2000 draws = %s, want at most %s", highest, tc.max)
			}
			if spread := tc.max - tc.min; highest-lowest < spread/2 {
				t.Errorf("delays in 2000 draws span %s to %s, want jitter across the range %s to %s", lowest, highest, tc.min, tc.max)
			}
		})
	}
}

func TestClampVisibility(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   time.Duration
		want time.Duration
	}{
		{"negative", -time.Minute, 0},
		{"zero", 0, 0},
		{"within range", 90 * time.Second, 90 * time.Second},
		{"12 hours", 12 * time.Hour, 12 * time.Hour},
		{"over 12 hours", 13 * time.Hour, 12 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := clampVisibility(tc.in); got != tc.want {
				t.Errorf("clampVisibility(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestReceiveCountOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value *string
		want  int
	}{
		{"absent", nil, 1},
		{"first", aws.String("1"), 1},
		{"fifth", aws.String("5"), 5},
		{"zero", aws.String("0"), 1},
		{"not a number", aws.String("many"), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			message := types.Message{Attributes: map[string]string{}}
			if tc.value != nil {
				message.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)] = *tc.value
			}
			if got := receiveCountOf(message); got != tc.want {
				t.Errorf("receiveCountOf = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"short", "abc", 5, "abc"},
		{"exact", "abcde", 5, "abcde"},
		{"cut ASCII", "abcdef", 3, "abc…"},
		{"cut before a multibyte character", "ab\u00e9", 3, "ab…"},
		{"cut inside a 3-byte character", "a\u3042\u3044", 3, "a…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := truncate(tc.in, tc.n)
			if got != tc.want {
				t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("truncate(%q, %d) = %q, want valid UTF-8", tc.in, tc.n, got)
			}
		})
	}
}

func TestDeadLetterLongErrorTruncated(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		long := strings.Repeat("\u3042", 3000) // 9000 bytes of 3-byte characters
		queue := handleOne(t, 1, runner.Result{Kind: runner.Permanent, Err: errors.New(long), Reason: "sql_invalid"}, 0)

		sends := queue.callsOf("send")
		if len(sends) != 1 {
			t.Fatalf("SendMessage calls = %d, want 1", len(sends))
		}
		got := aws.ToString(sends[0].send.MessageAttributes[AttrErrorMessage].StringValue)
		if len(got) > maxReasonBytes+len("…") {
			t.Errorf("error message attribute is %d bytes, want at most %d", len(got), maxReasonBytes+len("…"))
		}
		if !utf8.ValidString(got) {
			t.Error("error message attribute is not valid UTF-8 after truncation")
		}
	})
}

// A busy message on its second-to-last receive goes back to the queue as a
// new message, so that the duplicate of a long run does not reach the DLQ.
func TestOutcomeBusyRequeuedBeforeLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		receiveCount int
		wantOps      []string
	}{
		{"first receive", 1, []string{"visibility rh-m1"}},
		{"second-to-last receive", 2, []string{"send", "delete rh-m1"}},
		{"last receive", 3, []string{"send", "delete rh-m1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				body := `{"version":1,"job":"daily-orders"}`
				queue := &fakeQueue{script: []receiveStep{{messages: []types.Message{sqsMessage("m1", tc.receiveCount, body)}}}}
				executor := &fakeExecutor{run: func(context.Context, string) runner.Result {
					return runner.Result{Kind: runner.Busy, LeaseExpiresAt: time.Now().Add(90 * time.Second)}
				}}
				cfg := testConfig()
				cfg.MaxReceiveCount = 3
				worker := startWorker(t, queue, executor, cfg, nil)
				synctest.Wait()
				if err := worker.shutdown(); err != nil {
					t.Fatalf("Run: %v", err)
				}

				if got := queue.ops(); !slices.Equal(got, tc.wantOps) {
					t.Fatalf("queue calls = %v, want %v", got, tc.wantOps)
				}
				if sends := queue.callsOf("send"); len(sends) == 1 {
					send := sends[0].send
					if aws.ToString(send.QueueUrl) != testQueueURL || aws.ToString(send.MessageBody) != body {
						t.Errorf("sent %q to %s, want the same body to the job queue", aws.ToString(send.MessageBody), aws.ToString(send.QueueUrl))
					}
					if send.DelaySeconds < 90 || send.DelaySeconds > 92 {
						t.Errorf("delay = %d s, want about 91 s, when the lease ends", send.DelaySeconds)
					}
				}
			})
		})
	}
}
