package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
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
that already succeeded is not run again. For development and switch-back drills.

--no-deliver stops after the export and records the run as "exported". It needs a
--run-key of its own, so that a drill never becomes the run the schedule later delivers.
Its export goes under drills/RUN_KEY/ in S3, so the job's own backup key stays free. A
real run under a drill's run key fails with run_key_drill.`,
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
			if err := checkNoDeliverRunKey(ctx, a, args[0], &flags, noDeliver); err != nil {
				return err
			}
			r, err := a.runner(ctx)
			if err != nil {
				return err
			}
			limitRuntime(1)
			result := r.Execute(ctx, msg, &runner.Options{NoDeliver: noDeliver})
			notes := a.notes(asJSON)
			switch result.Kind {
			case runner.Busy:
				return fmt.Errorf("run %s is held by another worker until %s", result.RunKey, result.LeaseExpiresAt.Format("15:04:05 MST"))
			case runner.Retry:
				printFailedRun(ctx, a, r, result.RunKey, asJSON)
				return fmt.Errorf("run %s failed: %w", result.RunKey, result.Err)
			case runner.Permanent:
				printFailedRun(ctx, a, r, result.RunKey, asJSON)
				return fmt.Errorf("run %s failed permanently [%s]: %w", result.RunKey, result.Reason, result.Err)
			case runner.Duplicate:
				fmt.Fprintf(notes, "run key %s already succeeded; nothing was run\n", result.RunKey)
			case runner.Succeeded:
				if noDeliver {
					fmt.Fprintf(notes, "exported without delivery (--no-deliver)\n")
				}
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

// checkNoDeliverRunKey rejects --no-deliver without a run key of its own:
// under the job's own run key, the drill's export would be the snapshot
// that the scheduled run finds and delivers.
func checkNoDeliverRunKey(ctx context.Context, a *app, job string, flags *runFlags, noDeliver bool) error {
	if !noDeliver {
		return nil
	}
	if flags.runKey == "" {
		return invalidInput(errors.New("--no-deliver needs --run-key: an export-only run under the job's own run key would be delivered later by the scheduled run"))
	}
	own := *flags
	own.runKey = ""
	_, run, err := own.message(ctx, a, job)
	if err != nil {
		return err
	}
	if run.RunKey == flags.runKey {
		return invalidInput(fmt.Errorf("--run-key %q is the job's own run key for these params: choose another for an export-only run", flags.runKey))
	}
	return nil
}

// printFailedRun prints a failed run's ledger record as JSON when asJSON is
// set, so a script reads the same document whether the run failed or not. A
// run that failed before its claim (a bad param, an unknown job) has no record.
func printFailedRun(ctx context.Context, a *app, r *runner.Runner, runKey string, asJSON bool) {
	if !asJSON || runKey == "" {
		return
	}
	run, err := r.Ledger.Get(ctx, runKey)
	if err != nil {
		return
	}
	_ = printRun(a.streams.Out, run, true)
}

// notes returns where a command writes lines for people: stdout, or stderr
// with --json, so that stdout carries only the run's JSON document.
func (a *app) notes(asJSON bool) io.Writer {
	if asJSON {
		return a.streams.Err
	}
	return a.streams.Out
}
