package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/batchport/batchport/internal/runner"
	"github.com/batchport/batchport/worker"
)

// dispatchConcurrency is the messages in flight at once in both loops:
// one bare receive of 10, or a worker with 10 slots.
const dispatchConcurrency = 10

// measureDispatch times n no-op jobs through the worker and through a bare
// SDK loop (receive 10, delete them in one batch) on the SQS emulator.
func measureDispatch(ctx context.Context, n int) (*Dispatch, error) {
	fmt.Printf("== dispatch: %d no-op jobs through the SQS emulator\n", n)
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	client := sqs.NewFromConfig(cfg)
	created, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String(fmt.Sprintf("batchport-bench-dispatch-%d", time.Now().UnixNano())),
	})
	if err != nil {
		return nil, fmt.Errorf("creating the dispatch queue: %w", err)
	}
	queueURL := aws.ToString(created.QueueUrl)
	defer client.DeleteQueue(context.WithoutCancel(ctx), &sqs.DeleteQueueInput{QueueUrl: aws.String(queueURL)})

	// Five rounds, alternating, and the median of each: the emulator and
	// the machine vary from second to second.
	var bareTimes, workerTimes []time.Duration
	for range dispatchRounds {
		if err := fill(ctx, client, queueURL, n); err != nil {
			return nil, err
		}
		bare, err := bareLoop(ctx, client, queueURL, n)
		if err != nil {
			return nil, err
		}
		if err := fill(ctx, client, queueURL, n); err != nil {
			return nil, err
		}
		viaWorker, err := workerLoop(ctx, client, queueURL, n)
		if err != nil {
			return nil, err
		}
		bareTimes, workerTimes = append(bareTimes, bare), append(workerTimes, viaWorker)
	}
	bare, viaWorker := median(bareTimes), median(workerTimes)
	return &Dispatch{
		Messages: n, Concurrency: dispatchConcurrency, Rounds: dispatchRounds,
		BareSeconds: bare.Seconds(), WorkerSeconds: viaWorker.Seconds(),
		BarePerSecond: float64(n) / bare.Seconds(), WorkerPerSecond: float64(n) / viaWorker.Seconds(),
		WorkerToBareRatio: bare.Seconds() / viaWorker.Seconds(),
	}, nil
}

// dispatchRounds is five because one round takes about 0.2 s, so a pause of the machine moves it by 10% or more.
const dispatchRounds = 5

func median(times []time.Duration) time.Duration {
	sorted := slices.Clone(times)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}

func fill(ctx context.Context, client *sqs.Client, queueURL string, n int) error {
	body := aws.String(`{"version": 1, "job": "noop"}`)
	for sent := 0; sent < n; sent += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for i := sent; i < min(sent+10, n); i++ {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: body})
		}
		if _, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries}); err != nil {
			return fmt.Errorf("filling the dispatch queue: %w", err)
		}
	}
	return nil
}

// bareLoop is the least an SQS consumer can do: receive 10, delete the 10 in one batch.
func bareLoop(ctx context.Context, client *sqs.Client, queueURL string, n int) (time.Duration, error) {
	started := time.Now()
	for done := 0; done < n; {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: dispatchConcurrency, WaitTimeSeconds: 1,
		})
		if err != nil {
			return 0, err
		}
		if len(out.Messages) == 0 {
			continue
		}
		var entries []types.DeleteMessageBatchRequestEntry
		for i, message := range out.Messages {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: message.ReceiptHandle})
		}
		if _, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries}); err != nil {
			return 0, err
		}
		done += len(out.Messages)
	}
	return time.Since(started), nil
}

// workerLoop runs the real worker with an executor that does nothing, and
// times it until the last message is deleted.
func workerLoop(ctx context.Context, client *sqs.Client, queueURL string, n int) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	counting := &countingQueue{Queue: client, target: int64(n), done: make(chan struct{})}
	w, err := worker.New(counting, noopExecutor{}, worker.Config{
		QueueURL: queueURL, DLQURL: queueURL, Concurrency: dispatchConcurrency,
		VisibilityTimeout: 30 * time.Second, WaitTime: time.Second,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	started := time.Now()
	wg.Go(func() { _ = w.Run(ctx) })
	select {
	case <-counting.done:
	case <-time.After(10 * time.Minute):
		cancel()
		wg.Wait()
		return 0, fmt.Errorf("the worker deleted %d of %d messages in 10 minutes", counting.deleted.Load(), n)
	}
	elapsed := time.Since(started)
	cancel()
	wg.Wait()
	return elapsed, nil
}

type noopExecutor struct{}

func (noopExecutor) ExecuteBody(context.Context, []byte, *runner.Options) runner.Result {
	return runner.Result{Kind: runner.Succeeded, Job: "noop"}
}

// countingQueue closes done when target messages are deleted.
type countingQueue struct {
	worker.Queue
	target  int64
	deleted atomic.Int64
	done    chan struct{}
}

func (q *countingQueue) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	out, err := q.Queue.DeleteMessageBatch(ctx, in, optFns...)
	if err != nil {
		return out, err
	}
	n := int64(len(in.Entries) - len(out.Failed))
	if total := q.deleted.Add(n); total >= q.target && total-n < q.target {
		close(q.done)
	}
	return out, nil
}
