package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/batchport/batchport/internal/schedule"
	"github.com/batchport/batchport/messages"
)

// DefaultTimeout is a job's timeout when job.yaml sets none.
const DefaultTimeout = time.Hour

// MaxTimeout is the longest timeout a job may set: SQS keeps a message
// invisible for at most 12 hours in total, so a longer job would be redelivered.
const MaxTimeout = 12 * time.Hour

// TimeoutOrDefault returns the job's timeout, DefaultTimeout when unset.
func (j *Job) TimeoutOrDefault() time.Duration {
	if j.Timeout == 0 {
		return DefaultTimeout
	}
	return time.Duration(j.Timeout)
}

// Validate checks everything that can be checked without running the job:
// required keys, the runbook, the schedule, parameters, that every template
// renders (with sample values for required parameters) and that files it
// names exist. It returns every problem found, joined.
func (j *Job) Validate(now time.Time) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(j.validateDescription())
	add(j.validateSchedule())
	if j.Timeout < 0 || time.Duration(j.Timeout) > MaxTimeout {
		add(fmt.Errorf("timeout %s is invalid: use a duration up to %s", time.Duration(j.Timeout), MaxTimeout))
	}
	for _, name := range sortedKeys(j.Params) {
		add(j.Params[name].validate(name))
	}
	add(j.CSV.validate())
	if j.Handler == "" {
		add(errors.New("handler is missing: use sql-export"))
	}
	if j.Handler == "sql-export" {
		add(j.validateExport())
	}
	if len(errs) == 0 {
		_, err := j.Resolve(messages.Message{Version: 1, Job: j.Name, Params: j.sampleParams()}, now)
		add(err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("job %s: %w", j.Name, err)
	}
	return nil
}

func (j *Job) validateDescription() error {
	var errs []error
	missing := func(key, value string) {
		switch text := strings.TrimSpace(value); {
		case text == "":
			errs = append(errs, fmt.Errorf("%s is missing", key))
		case isPlaceholder(text):
			errs = append(errs, fmt.Errorf("%s is a placeholder (%q): write the text the on-call engineer needs", key, text))
		}
	}
	missing("description", j.Description)
	missing("owner", j.Owner)
	missing("runbook.why", j.Runbook.Why)
	missing("runbook.impact_if_stopped", j.Runbook.ImpactIfStopped)
	missing("runbook.switch_back", j.Runbook.SwitchBack)
	return errors.Join(errs...)
}

func (j *Job) validateSchedule() error {
	loc, err := j.Location()
	if err != nil || j.Schedule == nil {
		return err
	}
	if j.Schedule.Expression == "" {
		return errors.New("schedule.expression is missing: use cron(...), rate(...) or at(...), or drop schedule for a manual-only job")
	}
	parsed, err := schedule.Parse(j.Schedule.Expression, loc)
	if err != nil {
		return fmt.Errorf("schedule.expression: %w", err)
	}
	// A cron such as cron(0 12 31 2 ? *) parses but never fires, and one
	// with a past year fires no more: the job would silently never run.
	if _, ok := parsed.Next(time.Now()); parsed.Kind() == schedule.KindCron && !ok {
		return fmt.Errorf("schedule.expression %s never fires after now: check its day of month, month and year", j.Schedule.Expression)
	}
	return nil
}

func (j *Job) validateExport() error {
	var errs []error
	if j.Export == nil {
		return errors.New("export is missing: the sql-export handler needs export.query")
	}
	if sql, err := j.QuerySQL(); err != nil {
		errs = append(errs, err)
	} else if strings.TrimSpace(sql) == "" {
		errs = append(errs, fmt.Errorf("export.query %s is empty", filepath.Join(j.Dir, j.Export.Query)))
	}
	if j.Export.Timezone != "" {
		if _, err := time.LoadLocation(j.Export.Timezone); err != nil {
			errs = append(errs, fmt.Errorf("export.timezone %q is invalid: use an IANA name such as Asia/Tokyo", j.Export.Timezone))
		}
	}
	if j.Backup == nil || j.Backup.Key == "" {
		errs = append(errs, errors.New("backup.key is missing: the sql-export handler keeps every export in S3"))
	}
	for i, destination := range j.Deliver {
		errs = append(errs, destination.validate(fmt.Sprintf("deliver[%d]", i)))
	}
	return errors.Join(errs...)
}

func (d Destination) validate(field string) error {
	s := d.SFTP
	if s == nil {
		return fmt.Errorf("%s: only sftp destinations are supported", field)
	}
	var errs []error
	if _, port, err := net.SplitHostPort(s.Address); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("%s.sftp.address %q is invalid: use host:port", field, s.Address))
	}
	for key, value := range map[string]string{"user": s.User, "private_key_env": s.PrivateKeyEnv, "known_hosts_env": s.KnownHostsEnv, "name": s.Name} {
		if value == "" {
			errs = append(errs, fmt.Errorf("%s.sftp.%s is missing", field, key))
		}
	}
	if !path.IsAbs(s.Dir) || strings.Contains(s.Dir, "..") {
		errs = append(errs, fmt.Errorf("%s.sftp.dir %q is invalid: use an absolute path without \"..\"", field, s.Dir))
	}
	return errors.Join(errs...)
}

// sampleParams gives each required parameter a valid value of its type, so
// that Validate can render templates that use it.
func (j *Job) sampleParams() map[string]json.RawMessage {
	samples := map[string]string{"string": "sample", "date": "2000-01-01", "integer": "1", "boolean": "true"}
	params := map[string]json.RawMessage{}
	for name, spec := range j.Params {
		if spec.Required {
			value, _ := json.Marshal(samples[spec.typeName()])
			params[name] = value
		}
	}
	return params
}

// MissingEnv returns which of the job's secret and connection variables are
// unset in the environment, by name; their values are never read here.
func (j *Job) MissingEnv(lookup func(string) (string, bool)) []string {
	var missing []string
	check := func(name string) {
		if name == "" {
			return
		}
		if _, ok := lookup(name); !ok {
			missing = append(missing, name)
		}
	}
	if j.Export != nil {
		check(j.DatabaseEnv())
	}
	for _, destination := range j.Deliver {
		if destination.SFTP != nil {
			check(destination.SFTP.PrivateKeyEnv)
			check(destination.SFTP.KnownHostsEnv)
		}
	}
	return missing
}

// DatabaseEnv returns the variable naming the export source, DATABASE_URL by default.
func (j *Job) DatabaseEnv() string {
	if j.Export == nil || j.Export.DatabaseEnv == "" {
		return "DATABASE_URL"
	}
	return j.Export.DatabaseEnv
}

// isPlaceholder reports whether text is a stand-in left from a template,
// such as the README's "..." or a TODO.
func isPlaceholder(text string) bool {
	if strings.Trim(text, ".…") == "" {
		return true
	}
	switch strings.ToUpper(strings.Trim(text, ".:!- ")) {
	case "TODO", "TBD", "FIXME", "XXX":
		return true
	}
	return false
}
