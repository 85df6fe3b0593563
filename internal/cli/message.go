package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchport/batchport/internal/catalog"
	"github.com/batchport/batchport/messages"
)

// runFlags are the flags enqueue and run share to build a message.
type runFlags struct {
	params       []string
	runKey       string
	scheduledFor string
}

func (f *runFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&f.params, "param", "p", nil, "job parameter as NAME=VALUE (repeatable)")
	cmd.Flags().StringVar(&f.runKey, "run-key", "", "run key (default: rendered from the job's run_key template)")
	cmd.Flags().StringVar(&f.scheduledFor, "scheduled-for", "", "logical time of the run, RFC 3339 (default: now)")
}

// message builds a message for job from the flags and resolves it against
// the catalog, so that bad input is rejected here rather than in the DLQ.
// scheduled_for and run_key are always set, so the worker resolves the same run key.
func (f *runFlags) message(ctx context.Context, a *app, jobName string) (messages.Message, *catalog.Run, error) {
	job, err := a.job(ctx, jobName)
	if err != nil {
		return messages.Message{}, nil, err
	}
	scheduledFor := time.Now().UTC().Truncate(time.Second)
	if f.scheduledFor != "" {
		if scheduledFor, err = time.Parse(time.RFC3339, f.scheduledFor); err != nil {
			return messages.Message{}, nil, invalidInput(fmt.Errorf("--scheduled-for %q is invalid: use RFC 3339, such as 2026-12-04T03:30:00+09:00", f.scheduledFor))
		}
	}
	params, err := parseParams(f.params)
	if err != nil {
		return messages.Message{}, nil, invalidInput(err)
	}
	msg := messages.Message{
		Version:      1,
		Job:          job.Name,
		RunKey:       f.runKey,
		ScheduledFor: &scheduledFor,
		Params:       params,
		RequestedBy:  "manual:" + currentUser(),
	}
	run, err := job.Resolve(msg, scheduledFor)
	if err != nil {
		return messages.Message{}, nil, invalidInput(fmt.Errorf("job %s: %w", job.Name, err))
	}
	msg.RunKey = run.RunKey
	if err := msg.Validate(); err != nil {
		return messages.Message{}, nil, invalidInput(err)
	}
	return msg, run, nil
}

// parseParams turns NAME=VALUE flags into JSON strings; the catalog checks
// each value against the parameter's declared type.
func parseParams(flags []string) (map[string]json.RawMessage, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	params := map[string]json.RawMessage{}
	for _, flag := range flags {
		name, value, ok := strings.Cut(flag, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("-p %q is invalid: use NAME=VALUE", flag)
		}
		if _, dup := params[name]; dup {
			return nil, fmt.Errorf("-p %s is given twice", name)
		}
		encoded, err := json.Marshal(value)
		if err != nil {
			return nil, fmt.Errorf("-p %s: %w", name, err)
		}
		params[name] = encoded
	}
	return params, nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}
