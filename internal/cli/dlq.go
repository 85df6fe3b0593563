package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"github.com/batchport/batchport/messages"
	"github.com/batchport/batchport/worker"
)

func newDLQCommand(a *app) *cobra.Command {
	dlq := &cobra.Command{
		Use:   "dlq",
		Short: "Inspect and redrive dead letters",
		Long: `Dead letters are messages that failed permanently, or failed on every receive
up to the queue's maxReceiveCount. Fix the cause, then redrive them: each goes back to
BATCHPORT_QUEUE_URL unchanged, and a run resumes from its last finished step.`,
	}
	var listJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the dead letters with their job, run key and reason",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			letters, release, err := readDeadLetters(cmd.Context(), a)
			if err != nil {
				return err
			}
			release(letters)
			return printDeadLetters(a.streams.Out, letters, listJSON)
		},
	}
	list.Flags().BoolVar(&listJSON, "json", false, "print JSON")

	var job string
	var dryRun bool
	redrive := &cobra.Command{
		Use:   "redrive [--job JOB] [--dry-run]",
		Short: "Send dead letters back to the job queue",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return redriveDeadLetters(cmd.Context(), a, job, dryRun)
		},
	}
	redrive.Flags().StringVar(&job, "job", "", "only dead letters of this job")
	redrive.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be redriven, change nothing")
	dlq.AddCommand(list, redrive)
	return dlq
}

// deadLetter is one message of the DLQ with its job, run key and failure.
type deadLetter struct {
	MessageID    string    `json:"message_id"`
	Job          string    `json:"job,omitempty"`
	RunKey       string    `json:"run_key,omitempty"`
	ErrorClass   string    `json:"error_class,omitempty"`
	ErrorMessage string    `json:"error_message,omitempty"`
	ReceiveCount string    `json:"receive_count,omitempty"`
	SentAt       time.Time `json:"sent_at"`
	message      types.Message
}

// dlqHold is how long reading the DLQ hides its messages; they are made
// visible again, or deleted after a redrive, well before.
const dlqHold = 60 * time.Second

// readDeadLetters receives every message of the DLQ, hiding each for
// dlqHold. The caller must release (make visible) or delete them.
func readDeadLetters(ctx context.Context, a *app) ([]deadLetter, func([]deadLetter), error) {
	client, dlqURL, err := a.deadLetterQueue(ctx)
	if err != nil {
		return nil, nil, err
	}
	var letters []deadLetter
	seen := map[string]bool{}
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(dlqURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			VisibilityTimeout:           int32(dlqHold / time.Second),
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return nil, nil, fmt.Errorf("reading the DLQ %s: %w", dlqURL, err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, message := range out.Messages {
			if !seen[aws.ToString(message.MessageId)] {
				seen[aws.ToString(message.MessageId)] = true
				letter := describeDeadLetter(message)
				if letter.RunKey == "" {
					letter.RunKey = a.guessRunKey(ctx, message, letter.SentAt)
				}
				letters = append(letters, letter)
			}
		}
	}
	release := func(letters []deadLetter) {
		for _, letter := range letters {
			_, _ = client.ChangeMessageVisibility(context.WithoutCancel(ctx), &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(dlqURL), ReceiptHandle: letter.message.ReceiptHandle, VisibilityTimeout: 0,
			})
		}
	}
	return letters, release, nil
}

// describeDeadLetter reads the worker's reason attributes; a message the
// queue's redrive policy moved has none, so job and run key come from its body.
func describeDeadLetter(message types.Message) deadLetter {
	attribute := func(name string) string {
		return aws.ToString(message.MessageAttributes[name].StringValue)
	}
	letter := deadLetter{
		MessageID:    aws.ToString(message.MessageId),
		Job:          attribute(worker.AttrJob),
		RunKey:       attribute(worker.AttrRunKey),
		ErrorClass:   attribute(worker.AttrErrorClass),
		ErrorMessage: attribute(worker.AttrErrorMessage),
		ReceiveCount: attribute(worker.AttrReceiveCount),
		message:      message,
	}
	if letter.ErrorClass == "" {
		// The queue moved it; the DLQ's own receive count would include
		// every listing, so none is shown.
		letter.ErrorClass = "receive_limit"
		letter.ErrorMessage = "failed on every receive up to the queue's maxReceiveCount; the run's error is in the ledger (batchport runs show)"
	}
	if letter.Job == "" {
		if msg, err := messages.Decode([]byte(aws.ToString(message.Body))); err == nil {
			letter.Job, letter.RunKey = msg.Job, msg.RunKey
		}
	}
	if sent := message.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)]; sent != "" {
		var millis int64
		fmt.Sscan(sent, &millis)
		letter.SentAt = time.UnixMilli(millis).UTC()
	}
	return letter
}

func printDeadLetters(w io.Writer, letters []deadLetter, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(letters)
	}
	if len(letters) == 0 {
		fmt.Fprintln(w, "the DLQ is empty")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SENT\tMESSAGE ID\tJOB\tRUN KEY\tCLASS\tRECEIVES\tREASON")
	for _, l := range letters {
		reason := strings.Join(strings.Fields(l.ErrorMessage), " ") // one line, however many the error has
		sent := "-"
		if !l.SentAt.IsZero() {
			sent = l.SentAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sent, l.MessageID, orDash(l.Job), orDash(l.RunKey), l.ErrorClass, orDash(l.ReceiveCount), reason)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// redriveDeadLetters sends matching dead letters back to the job queue.
// Without a job filter it starts an SQS message move task (StartMessageMoveTask,
// which keeps each message's attributes, the failure reason included).
// With a filter, or where the server lacks that action, it receives, sends
// and deletes them itself, body unchanged and the reason kept as attributes.
func redriveDeadLetters(ctx context.Context, a *app, job string, dryRun bool) error {
	cfg, err := a.config(ctx)
	if err != nil {
		return err
	}
	if err := cfg.RequireQueue(); err != nil {
		return invalidInput(err)
	}
	if job == "" && !dryRun {
		moved, err := startMoveTask(ctx, a, cfg.QueueURL)
		if moved || err != nil {
			return err
		}
	}
	letters, release, err := readDeadLetters(ctx, a)
	if err != nil {
		return err
	}
	var selected, skipped []deadLetter
	for _, letter := range letters {
		if job == "" || letter.Job == job {
			selected = append(selected, letter)
		} else {
			skipped = append(skipped, letter)
		}
	}
	release(skipped)
	if dryRun {
		release(selected)
		fmt.Fprintf(a.streams.Out, "dry run: would redrive %d of %d dead letters\n", len(selected), len(letters))
		if len(selected) == 0 {
			return nil // printDeadLetters prints "the DLQ is empty" for no letters, which is false here
		}
		return printDeadLetters(a.streams.Out, selected, false)
	}
	client, dlqURL, err := a.deadLetterQueue(ctx)
	if err != nil {
		return err
	}
	var failed []string
	for i, letter := range selected {
		if err := redriveOne(ctx, client, cfg.QueueURL, dlqURL, letter); err != nil {
			release(selected[i:])
			failed = append(failed, fmt.Sprintf("%s: %v", letter.MessageID, err))
			break
		}
		fmt.Fprintf(a.streams.Out, "redriven %s (job %s, run key %s)\n", letter.MessageID, orDash(letter.Job), orDash(letter.RunKey))
	}
	if len(failed) > 0 {
		return fmt.Errorf("redrive stopped; the rest stay in the DLQ: %s", strings.Join(failed, "; "))
	}
	fmt.Fprintf(a.streams.Out, "redriven %d of %d dead letters\n", len(selected), len(letters))
	return nil
}

func redriveOne(ctx context.Context, client *sqs.Client, queueURL, dlqURL string, letter deadLetter) error {
	attributes := map[string]types.MessageAttributeValue{
		"batchport.redriven_from":        {DataType: aws.String("String"), StringValue: aws.String(letter.MessageID)},
		"batchport.previous_error_class": {DataType: aws.String("String"), StringValue: aws.String(letter.ErrorClass)},
	}
	if letter.ErrorMessage != "" {
		attributes["batchport.previous_error_message"] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(letter.ErrorMessage)}
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(queueURL), MessageBody: letter.message.Body, MessageAttributes: attributes,
	}); err != nil {
		return fmt.Errorf("sending to the job queue: %w", err)
	}
	if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(dlqURL), ReceiptHandle: letter.message.ReceiptHandle}); err != nil {
		return fmt.Errorf("sent, but deleting from the DLQ failed, so it is there twice: %w", err)
	}
	return nil
}

// startMoveTask starts an SQS message move task from the DLQ back to the
// job queue. It returns false, with no error, where the server does not
// implement the action.
func startMoveTask(ctx context.Context, a *app, queueURL string) (bool, error) {
	client, dlqURL, err := a.deadLetterQueue(ctx)
	if err != nil {
		return false, err
	}
	sourceARN, err := queueARN(ctx, client, dlqURL)
	if err != nil {
		return false, err
	}
	destinationARN, err := queueARN(ctx, client, queueURL)
	if err != nil {
		return false, err
	}
	out, err := client.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{
		SourceArn: aws.String(sourceARN), DestinationArn: aws.String(destinationARN),
	})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode() == "InvalidAction" || apiErr.ErrorCode() == "UnsupportedOperation") {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("starting a message move task from %s: %w", dlqURL, err)
	}
	fmt.Fprintf(a.streams.Out, "SQS is moving the dead letters back to the job queue (task %s); follow it with: aws sqs list-message-move-tasks --source-arn %s\n",
		aws.ToString(out.TaskHandle), sourceARN)
	return true, nil
}

func queueARN(ctx context.Context, client *sqs.Client, queueURL string) (string, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("reading the ARN of %s: %w", queueURL, err)
	}
	return out.Attributes[string(types.QueueAttributeNameQueueArn)], nil
}

// guessRunKey resolves a dead letter that carries no run key (one the
// queue moved after its receive limit) against the catalog, taking the
// time it was sent as the logical time where the message has none. That is
// the run key the worker used unless the job's template depends on a time
// finer than the delay between sending and the first receive.
func (a *app) guessRunKey(ctx context.Context, message types.Message, sentAt time.Time) string {
	msg, err := messages.Decode([]byte(aws.ToString(message.Body)))
	if err != nil {
		return ""
	}
	job, err := a.job(ctx, msg.Job)
	if err != nil {
		return ""
	}
	run, err := job.Resolve(msg, sentAt)
	if err != nil {
		return ""
	}
	return run.RunKey
}
