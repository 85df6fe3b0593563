package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/batchport/batchport/handlers"
	"github.com/batchport/batchport/internal/ledger"
)

// printRun writes a run and its step results for a person, or as JSON.
func printRun(w io.Writer, run *ledger.Run, asJSON bool) error {
	if asJSON {
		encoder := json.NewEncoder(w)
		encoder.SetIndent("", "  ")
		return encoder.Encode(run)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "run key:\t%s\n", run.RunKey)
	fmt.Fprintf(tw, "job:\t%s\n", run.Job)
	fmt.Fprintf(tw, "status:\t%s (attempt %d)\n", run.Status, run.Attempts)
	fmt.Fprintf(tw, "scheduled for:\t%s\n", run.ScheduledFor.Format(time.RFC3339))
	if run.RequestedBy != "" {
		fmt.Fprintf(tw, "requested by:\t%s\n", run.RequestedBy)
	}
	if run.StartedAt != nil {
		fmt.Fprintf(tw, "started:\t%s\n", run.StartedAt.Format(time.RFC3339))
	}
	if run.FinishedAt != nil {
		fmt.Fprintf(tw, "finished:\t%s\n", run.FinishedAt.Format(time.RFC3339))
	}
	if run.Error != "" {
		fmt.Fprintf(tw, "error:\t%s [%s]\n", run.Error, run.ErrorClass)
	}
	if run.DeadLetteredAt != nil {
		fmt.Fprintf(tw, "dead-lettered:\t%s: fix the cause, then batchport dlq redrive --job %s "+
			"(after its last receive, the message reaches the DLQ when its visibility timeout ends)\n", run.DeadLetteredAt.Format(time.RFC3339), run.Job)
	}
	for _, step := range run.Steps {
		printStep(tw, step)
	}
	return tw.Flush()
}

func printStep(w io.Writer, step ledger.Step) {
	if step.Name == handlers.ExportStep {
		var export handlers.ExportResult
		if json.Unmarshal(step.Result, &export) == nil {
			fmt.Fprintf(w, "rows:\t%d\n", export.Rows)
			fmt.Fprintf(w, "bytes:\t%d\n", export.Bytes)
			fmt.Fprintf(w, "sha256:\t%s\n", export.SHA256)
			fmt.Fprintf(w, "s3:\ts3://%s/%s\n", export.Bucket, export.Key)
			return
		}
	}
	var deliver handlers.DeliverResult
	if json.Unmarshal(step.Result, &deliver) == nil && deliver.RemotePath != "" {
		fmt.Fprintf(w, "sftp:\tsftp://%s%s\n", deliver.Address, deliver.RemotePath)
		return
	}
	fmt.Fprintf(w, "%s:\t%s\n", step.Name, step.Result)
}
