package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchport/batchport/internal/schedule"
)

func newSchedulesCommand(a *app) *cobra.Command {
	schedules := &cobra.Command{
		Use:   "schedules",
		Short: "Show when jobs fire",
	}
	var count int
	next := &cobra.Command{
		Use:   "next JOB",
		Short: "Print the next fire times of JOB, in UTC and in the job's time zone",
		Long: `Print the next fire times of a job's schedule expression, as EventBridge Scheduler
evaluates it in the job's time zone. Times skipped by a daylight saving change do not fire.
For rate() expressions the times are an estimate: EventBridge counts from the schedule's creation.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if count < 1 || count > 1000 {
				return invalidInput(fmt.Errorf("--count %d is invalid: use 1 to 1000", count))
			}
			job, err := a.job(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if job.Schedule == nil || job.Schedule.Expression == "" {
				return invalidInput(fmt.Errorf("job %s has no schedule: it runs only when a message is sent", job.Name))
			}
			loc, err := job.Location()
			if err != nil {
				return invalidInput(err)
			}
			parsed, err := schedule.Parse(job.Schedule.Expression, loc)
			if err != nil {
				return invalidInput(err)
			}
			tw := tabwriter.NewWriter(a.streams.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "UTC\t%s\n", loc)
			at := time.Now()
			for range count {
				next, ok := parsed.Next(at)
				if !ok {
					fmt.Fprintln(tw, "(no later fire times)")
					break
				}
				fmt.Fprintf(tw, "%s\t%s\n", next.UTC().Format(time.RFC3339), next.In(loc).Format("2006-01-02 15:04:05 MST (Mon)"))
				at = next
			}
			return tw.Flush()
		},
	}
	next.Flags().IntVar(&count, "count", 5, "how many fire times to print")
	schedules.AddCommand(next)
	return schedules
}
