package cli

import (
	"errors"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/batchport/batchport/internal/runner"
)

func newRunCommand(a *app) *cobra.Command {
	var flags runFlags
	var noDeliver, asJSON bool
	cmd := &cobra.Command{
		Use:   "run JOB [-p NAME=VALUE]...",
		Short: "Run JOB once in this process, without the queue",
		Long: `Run a job here and now, recording it in the ledger like the worker does: a run key
that already succeeded is not run again. For development and switch-back drills.`,
		Example: `  batchport run partner-daily-orders -p date=2026-12-01
  batchport run partner-daily-orders -p date=2026-12-01 --run-key drill/1 --no-deliver`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			msg, _, err := flags.message(ctx, a, args[0])
			if err != nil {
				return err
			}
			r, err := a.runner(ctx)
			if err != nil {
				return err
			}
			result := r.Execute(ctx, msg, &runner.Options{NoDeliver: noDeliver})
			switch result.Kind {
			case runner.Busy:
				return fmt.Errorf("run %s is held by another worker until %s", result.RunKey, result.LeaseExpiresAt.Format("15:04:05 MST"))
			case runner.Retry:
				return fmt.Errorf("run %s failed: %w", result.RunKey, result.Err)
			case runner.Permanent:
				return fmt.Errorf("run %s failed permanently [%s]: %w", result.RunKey, result.Reason, result.Err)
			case runner.Duplicate:
				fmt.Fprintf(a.streams.Out, "run key %s already succeeded; nothing was run\n", result.RunKey)
			}
			run, err := r.Ledger.Get(ctx, result.RunKey)
			if err != nil {
				return errors.Join(errors.New("the run finished but reading it back failed"), err)
			}
			return printRun(a.streams.Out, run, asJSON)
		},
	}
	flags.register(cmd)
	cmd.Flags().BoolVar(&noDeliver, "no-deliver", false, "stop after the export to S3")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the finished run as JSON")
	return cmd
}
