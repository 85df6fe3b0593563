package worker

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// deleter deletes handled messages in batches of up to 10 (the SQS
// maximum). A batch holds the requests that arrive within deleteLinger of
// the first, so short jobs that end together share one call, and a lone
// delete waits at most that long.
type deleter struct {
	queue    Queue
	queueURL string
	requests chan deleteRequest
	done     chan struct{}
}

type deleteRequest struct {
	receiptHandle *string
	result        chan error
}

func newDeleter(queue Queue, queueURL string) *deleter {
	d := &deleter{queue: queue, queueURL: queueURL, requests: make(chan deleteRequest), done: make(chan struct{})}
	go d.run()
	return d
}

// delete deletes message and returns when it is deleted or has failed.
func (d *deleter) delete(message types.Message) error {
	result := make(chan error, 1)
	d.requests <- deleteRequest{receiptHandle: message.ReceiptHandle, result: result}
	return <-result
}

// close stops the deleter after the requests already sent; call it only
// when no handler can send more.
func (d *deleter) close() {
	close(d.requests)
	<-d.done
}

func (d *deleter) run() {
	defer close(d.done)
	for first := range d.requests {
		d.deleteBatch(d.gather(first))
	}
}

// gather collects requests after first until the batch has 10 or
// deleteLinger has passed.
func (d *deleter) gather(first deleteRequest) []deleteRequest {
	batch := []deleteRequest{first}
	linger := time.NewTimer(deleteLinger)
	defer linger.Stop()
	for len(batch) < 10 {
		select {
		case request, ok := <-d.requests:
			if !ok {
				return batch
			}
			batch = append(batch, request)
		case <-linger.C:
			return batch
		}
	}
	return batch
}

// deleteLinger is how long a delete waits for others to share its call.
const deleteLinger = time.Millisecond

// deleteBatch sends one DeleteMessageBatch on a fresh context, because it
// may run after shutdown cancelled the worker's own, and reports each
// entry's result to its requester.
func (d *deleter) deleteBatch(batch []deleteRequest) {
	entries := make([]types.DeleteMessageBatchRequestEntry, len(batch))
	for i, request := range batch {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: request.receiptHandle}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := d.queue.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(d.queueURL), Entries: entries})
	if err != nil {
		for _, request := range batch {
			request.result <- err
		}
		return
	}
	failed := map[string]error{}
	for _, entry := range out.Failed {
		failed[aws.ToString(entry.Id)] = fmt.Errorf("%s: %s", aws.ToString(entry.Code), aws.ToString(entry.Message))
	}
	for i, request := range batch {
		if err, ok := failed[strconv.Itoa(i)]; ok {
			request.result <- err
			continue
		}
		request.result <- nil
	}
}
