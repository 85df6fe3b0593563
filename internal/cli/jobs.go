package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/batchport/batchport/internal/catalog"
)

func newJobsCommand(a *app) *cobra.Command {
	jobs := &cobra.Command{
		Use:   "jobs",
		Short: "List, show and validate the job catalog (BATCHPORT_JOBS_DIR)",
	}
	jobs.AddCommand(
		&cobra.Command{
			Use:   "list",
			Short: "List the jobs of the catalog",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := a.jobs(cmd.Context())
				if err != nil {
					return err
				}
				return listJobs(a.streams.Out, c)
			},
		},
		&cobra.Command{
			Use:   "show JOB",
			Short: "Show one job: what it does, its runbook, schedule and parameters",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				job, err := a.job(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				showJob(a.streams.Out, job)
				return nil
			},
		},
		&cobra.Command{
			Use:   "validate",
			Short: "Check every job: keys, runbook, schedule, templates, SQL file present",
			Long: `Check every job of the catalog without running it. Exit status 2 if any job is invalid.
Also warns (without failing) about environment variables a job names that are unset here.`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := a.jobs(cmd.Context())
				if err != nil {
					return err
				}
				return validateJobs(a.streams.Out, c, a.streams.LookupEnv)
			},
		},
	)
	return jobs
}

func listJobs(w io.Writer, c *catalog.Catalog) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tHANDLER\tSCHEDULE\tOWNER\tDESCRIPTION")
	for _, job := range c.Jobs() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", job.Name, job.Handler, scheduleText(job), job.Owner, firstLine(job.Description))
	}
	for _, name := range sortedNames(c.Problems()) {
		fmt.Fprintf(tw, "%s\t-\t-\t-\tINVALID: run batchport jobs validate\n", name)
	}
	return tw.Flush()
}

func showJob(w io.Writer, job *catalog.Job) {
	fmt.Fprintf(w, "%s (%s, owner %s)\n%s\n\n", job.Name, job.Handler, job.Owner, strings.TrimSpace(job.Description))
	fmt.Fprintf(w, "schedule:           %s\n", scheduleText(job))
	fmt.Fprintf(w, "timeout:            %s\n", job.TimeoutOrDefault())
	fmt.Fprintf(w, "why:                %s\n", strings.TrimSpace(job.Runbook.Why))
	fmt.Fprintf(w, "impact if stopped:  %s\n", strings.TrimSpace(job.Runbook.ImpactIfStopped))
	fmt.Fprintf(w, "switch back:        %s\n", strings.TrimSpace(job.Runbook.SwitchBack))
	names := make([]string, 0, len(job.Params))
	for name := range job.Params {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := job.Params[name]
		detail := "optional"
		if p.Required {
			detail = "required"
		} else if p.Default != "" {
			detail = "default " + p.Default
		}
		fmt.Fprintf(w, "param %s:  %s, %s\n", name, orDefault(p.Type, "string"), detail)
	}
	if job.Backup != nil {
		fmt.Fprintf(w, "backup key:         %s\n", job.Backup.Key)
	}
	for _, destination := range job.Deliver {
		if s := destination.SFTP; s != nil {
			fmt.Fprintf(w, "deliver:            sftp://%s@%s%s/%s\n", s.User, s.Address, s.Dir, s.Name)
		}
	}
}

func validateJobs(w io.Writer, c *catalog.Catalog, lookupEnv func(string) (string, bool)) error {
	for _, job := range c.Jobs() {
		fmt.Fprintf(w, "ok       %s\n", job.Name)
		for _, name := range job.MissingEnv(lookupEnv) {
			fmt.Fprintf(w, "         warning: %s is not set in this environment\n", name)
		}
	}
	problems := c.Problems()
	for _, name := range sortedNames(problems) {
		fmt.Fprintf(w, "invalid  %s\n", name)
		for _, line := range strings.Split(problems[name].Error(), "\n") {
			fmt.Fprintf(w, "         %s\n", line)
		}
	}
	total := len(c.Jobs()) + len(problems)
	if len(problems) > 0 {
		return invalidInput(fmt.Errorf("%d of %d jobs are invalid: %s", len(problems), total, strings.Join(sortedNames(problems), ", ")))
	}
	if total == 1 {
		fmt.Fprintln(w, "the job is valid")
		return nil
	}
	fmt.Fprintf(w, "all %d jobs are valid\n", total)
	return nil
}

func sortedNames(problems map[string]error) []string {
	names := make([]string, 0, len(problems))
	for name := range problems {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func scheduleText(job *catalog.Job) string {
	if job.Schedule == nil || job.Schedule.Expression == "" {
		return "manual"
	}
	return job.Schedule.Expression + " " + orDefault(job.Schedule.Timezone, "UTC")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
