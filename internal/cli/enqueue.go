package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/batchport/batchport/internal/ledger"
	"github.com/batchport/batchport/messages"
)

func newEnqueueCommand(a *app) *cobra.Command {
	var flags runFlags
	var wait bool
	var timeout time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "enqueue JOB [-p NAME=VALUE]...",
		Short: "Send a manual run of JOB to the queue",
		Long: `Send a job message to BATCHPORT_QUEUE_URL. The message is checked against the
catalog first, so an unknown job or a bad parameter fails here (exit status 2).
With --wait, follow the run in the ledger until it succeeds or fails for good.`,
		Example: `  batchport enqueue partner-daily-orders -p date=2026-12-01 --wait`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Checked before sending, so a bad flag does not leave a message on the queue.
			if wait && timeout <= 0 {
				return invalidInput(fmt.Errorf("--timeout %s is invalid: use a positive duration such as 30m", timeout))
			}
			if !wait && (cmd.Flags().Changed("json") || cmd.Flags().Changed("timeout")) {
				return invalidInput(errors.New("--json and --timeout apply only with --wait"))
			}
			notes := a.notes(asJSON)
			sentAt := time.Now()
			msg, err := enqueue(cmd.Context(), a, args[0], &flags, notes)
			if err != nil {
				return err
			}
			if !wait {
				return nil
			}
			return waitForRun(cmd, a, msg.RunKey, timeout, asJSON, sentAt, notes)
		},
	}
	flags.register(cmd)
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the run in the ledger until it ends")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Hour, "with --wait: how long to wait before giving up")
	cmd.Flags().BoolVar(&asJSON, "json", false, "with --wait: print the finished run as JSON")
	return cmd
}

func enqueue(ctx context.Context, a *app, job string, flags *runFlags, notes io.Writer) (messages.Message, error) {
	cfg, err := a.config(ctx)
	if err != nil {
		return messages.Message{}, err
	}
	if err := cfg.RequireQueue(); err != nil {
		return messages.Message{}, invalidInput(err)
	}
	msg, _, err := flags.message(ctx, a, job)
	if err != nil {
		return messages.Message{}, err
	}
	body, err := messages.Encode(msg)
	if err != nil {
		return messages.Message{}, invalidInput(err)
	}
	client, err := a.sqsClient(ctx)
	if err != nil {
		return messages.Message{}, err
	}
	out, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(cfg.QueueURL), MessageBody: aws.String(string(body))})
	if err != nil {
		return messages.Message{}, fmt.Errorf("sending to %s: %w", cfg.QueueURL, err)
	}
	fmt.Fprintf(notes, "enqueued %s run key %s (message %s)\n", msg.Job, msg.RunKey, aws.ToString(out.MessageId))
	return msg, nil
}

// waitForRun polls the ledger, printing each change of status, until the
// run succeeds, fails permanently, or timeout passes.
func waitForRun(cmd *cobra.Command, a *app, runKey string, timeout time.Duration, asJSON bool, sentAt time.Time, notes io.Writer) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	l, err := a.runLedger(ctx)
	if err != nil {
		return err
	}
	out := a.streams.Out
	limit := 0 // the queue's receive limit, to tell a run that will not be retried again
	if cfg, err := a.config(ctx); err == nil {
		if client, err := a.sqsClient(ctx); err == nil {
			limit = maxReceiveCount(ctx, client, cfg.QueueURL)
		}
	}
	var lastSeen string
	ticker := time.NewTicker(500 * time.Millisecond)
	defer ticker.Stop()
	for {
		run, err := l.Get(ctx, runKey)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			return err
		}
		if run != nil {
			seen := fmt.Sprintf("%s/%d", run.Status, run.Attempts)
			if seen != lastSeen && !asJSON {
				fmt.Fprintf(out, "%s: %s (attempt %d)\n", time.Now().Format(time.TimeOnly), run.Status, run.Attempts)
			}
			lastSeen = seen
			switch {
			case run.Status == ledger.Succeeded:
				if run.FinishedAt != nil && run.FinishedAt.Before(sentAt) {
					fmt.Fprintf(notes, "run key %s had already succeeded before this message; the worker deletes it as a duplicate and runs nothing\n", runKey)
				}
				return printRun(out, run, asJSON)
			case run.Status == ledger.Failed && strings.HasPrefix(run.ErrorClass, "permanent"):
				if err := printRun(out, run, asJSON); err != nil {
					return err
				}
				return fmt.Errorf("run %s failed permanently and went to the DLQ: %s", runKey, run.Error)
			case run.Status == ledger.Failed && (run.DeadLetteredAt != nil || limit > 0 && run.Attempts >= limit):
				if err := printRun(out, run, asJSON); err != nil {
					return err
				}
				return fmt.Errorf("run %s failed, and its message has used the last of the %d receives the queue allows, so the queue moves it to the DLQ when its visibility timeout ends and a worker polls again: %s; "+
					"fix the cause, then run batchport dlq redrive once dlq list shows it", runKey, limit, run.Error)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for run %s: gave up after %s (last status: %s); the run goes on, follow it with: batchport runs show %s",
				runKey, timeout, orNone(lastSeen), runKey)
		case <-ticker.C:
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "no worker has taken the message yet; is a batchport worker running on this queue?"
	}
	return s
}
