package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// send puts body on the test's job queue with the SDK.
func (s *stack) send(body string) string {
	s.t.Helper()
	out, err := s.queues.Client.SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: aws.String(s.queues.URL), MessageBody: aws.String(body),
	})
	if err != nil {
		s.t.Fatalf("sending a message: %v", err)
	}
	return aws.ToString(out.MessageId)
}

// countLines counts log lines with msg across workers.
func countLines(msg string, workers ...*worker) int {
	n := 0
	for _, w := range workers {
		n += len(w.logLines(map[string]string{"msg": msg}))
	}
	return n
}

func TestLongJobStaysInvisible(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	// The job takes 20 s, four times the 5 s visibility timeout.
	s.addExportJob("slow", jobSpec{query: "SELECT k, pg_sleep(20) IS NULL AS slept FROM (VALUES (current_setting('batchport.param.k'))) AS v(k)"})
	first := s.startWorkerWith("BATCHPORT_VISIBILITY_TIMEOUT=5s")
	second := s.startWorkerWith("BATCHPORT_VISIBILITY_TIMEOUT=5s")

	id := s.send(message("slow", "a"))
	s.waitSucceeded("slow/a", 60*time.Second)
	waitQueueEmpty(t, s)

	if n := countLines("export: running query", first, second); n != 1 {
		t.Errorf("the query ran %d times, want once", n)
	}
	// One worker received the message once; the other never saw it.
	counts := []int{len(first.logLines(map[string]string{"message_id": id})), len(second.logLines(map[string]string{"message_id": id}))}
	sort.Ints(counts)
	if counts[0] != 0 || counts[1] != 1 {
		t.Errorf("log lines naming the message per worker: %v, want one worker with 1 and the other with 0", counts)
	}
	if files := s.sftpFiles(); len(files) != 1 || files[0] != "a.csv" {
		t.Errorf("SFTP folder has %v, want [a.csv]", files)
	}
}

func TestSameMessageTwiceRunsOnce(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.addExportJob("once", jobSpec{query: "SELECT current_setting('batchport.param.k') AS k, now() AS at"})
	first := s.startWorkerWith("BATCHPORT_VISIBILITY_TIMEOUT=5s")
	second := s.startWorkerWith("BATCHPORT_VISIBILITY_TIMEOUT=5s")

	body := message("once", "slot-0330")
	s.send(body)
	time.Sleep(time.Second)
	s.send(body)

	s.waitSucceeded("once/slot-0330", 60*time.Second)
	waitQueueEmpty(t, s)
	if n := countLines("job succeeded", first, second); n != 1 {
		t.Errorf("%d runs succeeded, want 1", n)
	}
	if n := countLines("duplicate: run key already succeeded, message deleted", first, second); n != 1 {
		t.Errorf("%d duplicates logged, want 1", n)
	}
	if files := s.sftpFiles(); len(files) != 1 {
		t.Errorf("SFTP folder has %v, want one file", files)
	}
}

func TestManyDuplicatesTwoWorkers(t *testing.T) {
	t.Parallel()
	// A message that finds its run key busy is hidden until the lease ends,
	// and each such receive counts toward the queue's limit.
	s := newStackWithReceives(t, 10)
	s.addExportJob("many", jobSpec{query: "SELECT current_setting('batchport.param.k') AS k, g FROM generate_series(1, 100) g"})
	first := s.startWorkerWith("BATCHPORT_VISIBILITY_TIMEOUT=5s")
	second := s.startWorkerWith("BATCHPORT_VISIBILITY_TIMEOUT=5s")

	const keys, copies = 50, 4
	var batch []types.SendMessageBatchRequestEntry
	for round := range copies {
		for k := range keys {
			batch = append(batch, types.SendMessageBatchRequestEntry{
				Id:          aws.String(fmt.Sprintf("r%d-k%d", round, k)),
				MessageBody: aws.String(message("many", fmt.Sprintf("k%02d", k))),
			})
			if len(batch) == 10 {
				s.sendBatch(batch)
				batch = nil
			}
		}
	}

	deadline := time.Now().Add(3 * time.Minute)
	for countLines("job succeeded", first, second)+countLines("duplicate: run key already succeeded, message deleted", first, second) < keys*copies {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %d runs and %d duplicates so far", countLines("job succeeded", first, second),
				countLines("duplicate: run key already succeeded, message deleted", first, second))
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitQueueEmpty(t, s)

	if n := countLines("job succeeded", first, second); n != keys {
		t.Errorf("%d runs succeeded, want %d", n, keys)
	}
	if n := countLines("duplicate: run key already succeeded, message deleted", first, second); n != keys*(copies-1) {
		t.Errorf("%d duplicates logged, want %d", n, keys*(copies-1))
	}
	files := s.sftpFiles()
	sort.Strings(files)
	if len(files) != keys {
		t.Errorf("SFTP folder has %d files, want %d: %s", len(files), keys, strings.Join(files, " "))
	}
	if visible, inFlight := s.queues.Count(t, s.queues.DLQURL); visible+inFlight != 0 {
		t.Errorf("the DLQ has %d messages, want none", visible+inFlight)
	}
	if first.logLines(map[string]string{"msg": "job succeeded"}) == nil || second.logLines(map[string]string{"msg": "job succeeded"}) == nil {
		t.Log("note: one worker ran every job; the work was not shared")
	}
}

func (s *stack) sendBatch(entries []types.SendMessageBatchRequestEntry) {
	s.t.Helper()
	out, err := s.queues.Client.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{
		QueueUrl: aws.String(s.queues.URL), Entries: entries,
	})
	if err != nil {
		s.t.Fatalf("sending a batch: %v", err)
	}
	if len(out.Failed) > 0 {
		s.t.Fatalf("sending a batch: %d entries failed: %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
	}
}
