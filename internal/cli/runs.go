package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/batchport/batchport/internal/ledger"
)

func newRunsCommand(a *app) *cobra.Command {
	runs := &cobra.Command{
		Use:   "runs",
		Short: "Show run history from the ledger",
	}
	var opts ledger.ListOptions
	var status string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Limit < 1 {
				return invalidInput(fmt.Errorf("--limit %d is invalid: use 1 or more", opts.Limit))
			}
			switch ledger.Status(status) {
			case "", ledger.Running, ledger.Succeeded, ledger.Exported, ledger.Failed:
				opts.Status = ledger.Status(status)
			default:
				return invalidInput(fmt.Errorf("--status %q is invalid: use running, succeeded, exported or failed", status))
			}
			l, err := a.runLedger(cmd.Context())
			if err != nil {
				return err
			}
			found, err := l.List(cmd.Context(), &opts)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.streams.Out).Encode(found)
			}
			tw := tabwriter.NewWriter(a.streams.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN KEY\tJOB\tSTATUS\tATTEMPTS\tSTARTED\tERROR")
			for _, run := range found {
				started := "-"
				if run.StartedAt != nil {
					started = run.StartedAt.Format("2006-01-02 15:04:05Z07:00")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", run.RunKey, run.Job, run.Status, run.Attempts, started, firstLine(run.Error))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&opts.Job, "job", "", "only runs of this job")
	list.Flags().StringVar(&status, "status", "", "only runs in this status: running, succeeded, exported or failed")
	list.Flags().IntVar(&opts.Limit, "limit", 50, "at most this many runs")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var showJSON bool
	show := &cobra.Command{
		Use:   "show RUN_KEY",
		Short: "Show one run with its steps: S3 key, rows, bytes, SHA-256, remote paths",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := a.runLedger(cmd.Context())
			if err != nil {
				return err
			}
			run, err := l.Get(cmd.Context(), args[0])
			if errors.Is(err, ledger.ErrNotFound) {
				return invalidInput(err)
			}
			if err != nil {
				return err
			}
			return printRun(a.streams.Out, run, showJSON)
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print JSON")
	runs.AddCommand(list, show)
	return runs
}
