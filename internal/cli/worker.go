package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os/signal"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/spf13/cobra"

	"github.com/batchport/batchport/worker"
)

func newWorkerCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Receive and run jobs from the queue until SIGTERM or SIGINT",
		Long: `Receive job messages from BATCHPORT_QUEUE_URL and run them, BATCHPORT_CONCURRENCY at once.
On SIGTERM or SIGINT the worker stops receiving, gives running jobs BATCHPORT_DRAIN_TIMEOUT
to finish, then cancels them and makes their messages visible again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The handler stays registered until the process exits, so a
			// second signal while the worker drains, closes the ledger and
			// exits never meets the default action (status 143). Changing
			// the disposition on the way out, with signal.Ignore or stop,
			// leaves a moment when a signal in flight ends the process.
			ctx, _ := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			return runWorker(ctx, a)
		},
	}
}

func runWorker(ctx context.Context, a *app) error {
	cfg, err := a.config(ctx)
	if err != nil {
		return err
	}
	if err := cfg.RequireQueue(); err != nil {
		return invalidInput(err)
	}
	logger, err := a.log(ctx)
	if err != nil {
		return err
	}
	limitRuntime(cfg.Concurrency)
	executor, err := a.runner(ctx)
	if err != nil {
		return err
	}
	for name, problem := range executor.Catalog.Problems() {
		logger.Error("catalog: job is invalid, its messages will go to the DLQ", "job", name, "error", problem)
	}
	client, dlqURL, err := a.deadLetterQueue(ctx)
	if err != nil {
		return err
	}
	w, err := worker.New(client, executor, worker.Config{
		QueueURL:          cfg.QueueURL,
		DLQURL:            dlqURL,
		Concurrency:       cfg.Concurrency,
		VisibilityTimeout: cfg.VisibilityTimeout,
		DrainTimeout:      cfg.DrainTimeout,
		MaxReceiveCount:   maxReceiveCount(ctx, client, cfg.QueueURL),
	}, logger)
	if err != nil {
		return invalidInput(err)
	}
	return w.Run(ctx)
}

// redrivePolicy is the part of a queue's RedrivePolicy attribute batchport reads.
type redrivePolicy struct {
	DeadLetterTargetArn string      `json:"deadLetterTargetArn"`
	MaxReceiveCount     json.Number `json:"maxReceiveCount"`
}

// readRedrivePolicy returns the queue's redrive policy, or nil where it has none.
func readRedrivePolicy(ctx context.Context, client *sqs.Client, queueURL string) (*redrivePolicy, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		return nil, fmt.Errorf("reading the redrive policy of %s: %w", queueURL, err)
	}
	text := out.Attributes[string(types.QueueAttributeNameRedrivePolicy)]
	if text == "" {
		return nil, nil
	}
	var policy redrivePolicy
	if err := json.Unmarshal([]byte(text), &policy); err != nil {
		return nil, fmt.Errorf("reading the redrive policy of %s: %w", queueURL, err)
	}
	return &policy, nil
}

// deadLetterQueueURL finds the DLQ from the queue's redrive policy.
func deadLetterQueueURL(ctx context.Context, client *sqs.Client, queueURL string) (string, error) {
	policy, err := readRedrivePolicy(ctx, client, queueURL)
	if err != nil {
		return "", err
	}
	if policy == nil || policy.DeadLetterTargetArn == "" {
		return "", invalidInput(fmt.Errorf("queue %s has no redrive policy: set BATCHPORT_DLQ_URL or add a redrive policy", queueURL))
	}
	name := policy.DeadLetterTargetArn[strings.LastIndex(policy.DeadLetterTargetArn, ":")+1:]
	url, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("finding the dead-letter queue %s: %w", name, err)
	}
	return aws.ToString(url.QueueUrl), nil
}

// maxReceiveCount returns the job queue's redrive limit, 0 where it has none
// or it cannot be read (the worker then cannot tell a last receive).
func maxReceiveCount(ctx context.Context, client *sqs.Client, queueURL string) int {
	policy, err := readRedrivePolicy(ctx, client, queueURL)
	if err != nil || policy == nil {
		return 0
	}
	n, err := policy.MaxReceiveCount.Int64()
	if err != nil {
		return 0
	}
	return int(n)
}
