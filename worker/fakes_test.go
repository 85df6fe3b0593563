package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/batchport/batchport/internal/runner"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testQueueURL = "https://sqs.ap-northeast-1.amazonaws.com/000000000000/jobs"
	testDLQURL   = "https://sqs.ap-northeast-1.amazonaws.com/000000000000/jobs-dlq"
)

// queueCall is one call the worker made to the fake queue.
type queueCall struct {
	op            string // receive, delete, visibility or send
	at            time.Time
	receiptHandle string
	visibility    time.Duration
	receive       *sqs.ReceiveMessageInput
	send          *sqs.SendMessageInput
	// running is how many jobs were inside ExecuteBody at a receive.
	running int
}

// receiveStep is the scripted result of one ReceiveMessage call.
type receiveStep struct {
	messages []types.Message
	err      error
	// delay is how long SQS holds the long poll before it returns, such as
	// a poll that returns messages after the worker's shutdown began.
	delay time.Duration
}

// fakeQueue records every call in order. ReceiveMessage returns the scripted
// steps one by one and then long-polls an empty queue for the request's
// WaitTimeSeconds, unless receiveErr is set, in which case every call after
// the script fails at once.
type fakeQueue struct {
	mu         sync.Mutex
	calls      []queueCall
	script     []receiveStep
	receiveErr error
	sendErr    error
	// visibilityErr, if set, fails every ChangeMessageVisibility call.
	visibilityErr error
	// visibilityDelay is how long each ChangeMessageVisibility call takes.
	visibilityDelay time.Duration
	// deleteDelay is how long each DeleteMessageBatch call takes.
	deleteDelay time.Duration
	inFlight    int
	// pollsCancelled counts receives that ended because their context did.
	pollsCancelled int
	// runningJobs, if set, counts the jobs running at each receive.
	runningJobs func() int
}

func (q *fakeQueue) record(call queueCall) {
	q.mu.Lock()
	defer q.mu.Unlock()
	call.at = time.Now()
	q.calls = append(q.calls, call)
}

func (q *fakeQueue) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	call := queueCall{op: "receive", receive: in}
	if q.runningJobs != nil {
		call.running = q.runningJobs()
	}
	q.record(call)
	q.mu.Lock()
	var step *receiveStep
	if len(q.script) > 0 {
		step = &q.script[0]
		q.script = q.script[1:]
	}
	receiveErr := q.receiveErr
	q.mu.Unlock()

	wait := time.Duration(in.WaitTimeSeconds) * time.Second
	switch {
	case step != nil:
		wait = step.delay
	case receiveErr != nil:
		return nil, receiveErr
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		q.mu.Lock()
		q.pollsCancelled++
		q.mu.Unlock()
		return nil, ctx.Err()
	case <-timer.C:
	}
	if step != nil {
		return &sqs.ReceiveMessageOutput{Messages: step.messages}, step.err
	}
	return &sqs.ReceiveMessageOutput{}, nil
}

func (q *fakeQueue) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	time.Sleep(q.deleteDelay)
	for _, entry := range in.Entries {
		q.record(queueCall{op: "delete", receiptHandle: aws.ToString(entry.ReceiptHandle)})
	}
	return &sqs.DeleteMessageBatchOutput{}, nil
}

func (q *fakeQueue) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	q.mu.Lock()
	q.inFlight++
	delay := q.visibilityDelay
	q.mu.Unlock()
	time.Sleep(delay)
	q.record(queueCall{
		op:            "visibility",
		receiptHandle: aws.ToString(in.ReceiptHandle),
		visibility:    time.Duration(in.VisibilityTimeout) * time.Second,
	})
	q.mu.Lock()
	q.inFlight--
	q.mu.Unlock()
	if q.visibilityErr != nil {
		return nil, q.visibilityErr
	}
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

func (q *fakeQueue) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	q.record(queueCall{op: "send", send: in})
	if q.sendErr != nil {
		return nil, q.sendErr
	}
	return &sqs.SendMessageOutput{MessageId: aws.String("dlq-message-1")}, nil
}

// callsOf returns the recorded calls of one operation, in order.
func (q *fakeQueue) callsOf(op string) []queueCall {
	q.mu.Lock()
	defer q.mu.Unlock()
	var calls []queueCall
	for _, call := range q.calls {
		if call.op == op {
			calls = append(calls, call)
		}
	}
	return calls
}

// ops returns the operation names of every call except receives, in order,
// each followed by its receipt handle where it has one.
func (q *fakeQueue) ops() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var ops []string
	for _, call := range q.calls {
		switch call.op {
		case "receive":
		case "send":
			ops = append(ops, "send")
		default:
			ops = append(ops, call.op+" "+call.receiptHandle)
		}
	}
	return ops
}

// jobSpan is when the fake executor ran one body.
type jobSpan struct {
	body       string
	start, end time.Time
	cancelled  bool // the job's context had ended when it returned
}

// fakeExecutor runs each body with run and records when it ran.
type fakeExecutor struct {
	run    func(ctx context.Context, body string) runner.Result
	mu     sync.Mutex
	spans  []jobSpan
	active int
}

func (e *fakeExecutor) ExecuteBody(ctx context.Context, body []byte, _ *runner.Options) runner.Result {
	start := time.Now()
	e.mu.Lock()
	e.active++
	e.mu.Unlock()
	result := e.run(ctx, string(body))
	e.mu.Lock()
	defer e.mu.Unlock()
	e.active--
	e.spans = append(e.spans, jobSpan{body: string(body), start: start, end: time.Now(), cancelled: ctx.Err() != nil})
	return result
}

// running returns how many jobs are inside ExecuteBody now.
func (e *fakeExecutor) running() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.active
}

func (e *fakeExecutor) executed() []jobSpan {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]jobSpan(nil), e.spans...)
}

// resultAfter returns a run function that takes d (or until its context
// ends) and then returns result, or a Retry with the context's error.
func resultAfter(d time.Duration, result runner.Result) func(context.Context, string) runner.Result {
	return func(ctx context.Context, _ string) runner.Result {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
			return result
		case <-ctx.Done():
			return runner.Result{Kind: runner.Retry, Err: ctx.Err(), Reason: "transient"}
		}
	}
}

// sqsMessage returns a received message with receipt handle "rh-<id>".
func sqsMessage(id string, receiveCount int, body string) types.Message {
	return types.Message{
		MessageId:     aws.String(id),
		ReceiptHandle: aws.String("rh-" + id),
		Body:          aws.String(body),
		Attributes: map[string]string{
			string(types.MessageSystemAttributeNameApproximateReceiveCount): strconv.Itoa(receiveCount),
		},
	}
}

func testConfig() Config {
	return Config{QueueURL: testQueueURL, DLQURL: testDLQURL}
}

// runningWorker is a worker started by startWorker.
type runningWorker struct {
	stop func()
	done chan error
}

// startWorker starts w.Run in a goroutine. Call it inside a synctest bubble
// so the fake queue's long polls and the jobs' timers use the bubble's clock.
func startWorker(t *testing.T, queue Queue, executor Executor, cfg Config, logger *slog.Logger) *runningWorker {
	t.Helper()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w, err := New(queue, executor, cfg, logger)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return &runningWorker{stop: cancel, done: done}
}

// shutdown cancels the worker's context, as SIGTERM does, and returns Run's error.
func (r *runningWorker) shutdown() error {
	r.stop()
	return <-r.done
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records decodes the JSON log lines written so far.
func (b *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var records []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(b.buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var record map[string]any
		if err := json.Unmarshal(line, &record); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		records = append(records, record)
	}
	return records
}

// withMessage returns the records whose msg is msg.
func withMessage(records []map[string]any, msg string) []map[string]any {
	var matched []map[string]any
	for _, record := range records {
		if record["msg"] == msg {
			matched = append(matched, record)
		}
	}
	return matched
}
