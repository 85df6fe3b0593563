// Package cli is the batchport command line.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailed  = 1 // a failed operation
	exitInvalid = 2 // bad usage or invalid input
)

// invalidInputError marks errors caused by the user's input (exit status 2).
type invalidInputError struct{ err error }

func (e *invalidInputError) Error() string { return e.err.Error() }
func (e *invalidInputError) Unwrap() error { return e.err }

func invalidInput(err error) error {
	if err == nil {
		return nil
	}
	return &invalidInputError{err: err}
}

// Streams are the command's standard streams and environment; tests replace them.
type Streams struct {
	Out, Err  io.Writer
	LookupEnv func(string) (string, bool)
}

// Main runs the command line with args (without the program name) and
// returns the exit status.
func Main(ctx context.Context, args []string, streams Streams) int {
	if streams.LookupEnv == nil {
		streams.LookupEnv = os.LookupEnv
	}
	app := &app{streams: streams}
	defer app.close()
	root := newRootCommand(app)
	root.SetArgs(args)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)

	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(streams.Err, "error:", err)
	var invalid *invalidInputError
	if errors.As(err, &invalid) || !app.started {
		// Errors before a command's RunE are cobra's own: unknown commands, flags and arguments.
		return exitInvalid
	}
	return exitFailed
}

func newRootCommand(app *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "batchport",
		Short: "Run cron batches as queue-driven jobs: SQL export to S3, delivered by SFTP",
		Long: `batchport runs batch jobs from a catalog (BATCHPORT_JOBS_DIR, default ./jobs).
A message on the SQS queue names a job; the worker runs it once per run key.

Configuration comes from the environment: BATCHPORT_QUEUE_URL, BATCHPORT_BACKUP_BUCKET,
DATABASE_URL, BATCHPORT_LEDGER_URL and the AWS SDK's own variables (AWS_REGION,
AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_S3, credentials).

Exit status: 0 success, 1 failed operation, 2 bad usage or invalid input.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			app.started = true
		},
	}
	root.AddCommand(
		newWorkerCommand(app),
		newEnqueueCommand(app),
		newRunCommand(app),
		newJobsCommand(app),
		newRunsCommand(app),
		newDLQCommand(app),
		newSchedulesCommand(app),
		newVersionCommand(app),
	)
	return root
}
