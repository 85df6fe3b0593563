package catalog

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batchport/batchport/messages"
)

const previousDayTemplate = `{{(.ScheduledFor.AddDate 0 0 -1).Format "2006-01-02"}}`

// tokyoEvening is 03:30 on 2026-12-03 in Asia/Tokyo but still 2026-12-02 in
// UTC, so a template evaluated in the wrong zone gives another date.
var tokyoEvening = time.Date(2026, 12, 2, 18, 30, 0, 0, time.UTC)

// resolveJob returns a job in Asia/Tokyo whose date param defaults to the
// day before the scheduled time, used by backup key and delivery name.
func resolveJob() *Job {
	return &Job{
		Name:     "daily-orders",
		Schedule: &Schedule{Expression: "cron(30 3 * * ? *)", Timezone: "Asia/Tokyo"},
		Params:   map[string]Param{"date": {Type: "date", Default: previousDayTemplate}},
		Handler:  "sql-export",
		Backup:   &Backup{Key: "{{.Job}}/{{.Params.date}}/orders.csv"},
		Deliver: []Destination{{SFTP: &SFTPDestination{
			Address: "sftp.partner.example:22", User: "acme", PrivateKeyEnv: "KEY", KnownHostsEnv: "HOSTS",
			Dir: "/inbox", Name: "orders_{{.Params.date}}.csv",
		}}},
	}
}

func message(job string, scheduledFor *time.Time, params map[string]string) messages.Message {
	msg := messages.Message{Version: 1, Job: job, ScheduledFor: scheduledFor}
	if params != nil {
		msg.Params = map[string]json.RawMessage{}
		for name, raw := range params {
			msg.Params[name] = json.RawMessage(raw)
		}
	}
	return msg
}

func TestResolveDefaultRunKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		zone string
		want string
	}{
		{"job in Tokyo", "Asia/Tokyo", "daily-orders/2026-12-03T03:30:00+09:00"},
		{"job in UTC", "", "daily-orders/2026-12-02T18:30:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := resolveJob()
			job.Schedule.Timezone = tc.zone

			run, err := job.Resolve(message(job.Name, &tokyoEvening, nil), time.Now())
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if run.RunKey != tc.want {
				t.Errorf("RunKey = %q, want %q (job name and scheduled time in RFC 3339, in the job's zone)", run.RunKey, tc.want)
			}
		})
	}
}

func TestResolveRunKeyTemplate(t *testing.T) {
	t.Parallel()
	job := resolveJob()
	job.RunKey = "{{.Job}}/{{.Params.date}}"

	run, err := job.Resolve(message(job.Name, &tokyoEvening, nil), time.Now())
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if want := "daily-orders/2026-12-02"; run.RunKey != want {
		t.Errorf("RunKey = %q, want %q from the template with the defaulted date", run.RunKey, want)
	}
}

func TestResolveMessageRunKeyWins(t *testing.T) {
	t.Parallel()
	job := resolveJob()
	job.RunKey = "{{.Job}}/{{.Params.date}}"
	job.Backup.Key = "{{.RunKey}}/orders.csv"
	msg := message(job.Name, &tokyoEvening, nil)
	msg.RunKey = "manual/rerun-1"

	run, err := job.Resolve(msg, time.Now())
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if run.RunKey != "manual/rerun-1" {
		t.Errorf("RunKey = %q, want the message's run_key manual/rerun-1 over the job's template", run.RunKey)
	}
	if want := "manual/rerun-1/orders.csv"; run.BackupKey != want {
		t.Errorf("BackupKey = %q, want %q: templates see the message's run key as .RunKey", run.BackupKey, want)
	}
}

func TestResolveScheduledForZone(t *testing.T) {
	t.Parallel()
	job := resolveJob()

	run, err := job.Resolve(message(job.Name, &tokyoEvening, nil), time.Now())
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if got := run.ScheduledFor.Location().String(); got != "Asia/Tokyo" {
		t.Errorf("ScheduledFor zone = %s, want the job's zone Asia/Tokyo", got)
	}
	if !run.ScheduledFor.Equal(tokyoEvening) {
		t.Errorf("ScheduledFor = %s, want the same instant as %s", run.ScheduledFor, tokyoEvening)
	}
}

func TestResolveNowWithoutScheduledFor(t *testing.T) {
	t.Parallel()
	job := resolveJob()
	now := time.Date(2026, 3, 1, 0, 15, 0, 0, time.UTC) // 09:15 on 1 March in Tokyo

	run, err := job.Resolve(message(job.Name, nil, nil), now)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if !run.ScheduledFor.Equal(now) {
		t.Errorf("ScheduledFor = %s, want now (%s) for a message without scheduled_for", run.ScheduledFor, now)
	}
	if got := run.Params["date"]; got != "2026-02-28" {
		t.Errorf("params.date = %q, want 2026-02-28, the day before now in Tokyo", got)
	}
}

func TestResolveDefaultParamZone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		zone     string
		wantDate string
	}{
		{"Tokyo", "Asia/Tokyo", "2026-12-02"},
		{"UTC", "UTC", "2026-12-01"},
		{"Los Angeles", "America/Los_Angeles", "2026-12-01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := resolveJob()
			job.Schedule.Timezone = tc.zone

			run, err := job.Resolve(message(job.Name, &tokyoEvening, nil), time.Now())
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got := run.Params["date"]; got != tc.wantDate {
				t.Errorf("params.date = %q, want %q: the default renders in the job's zone", got, tc.wantDate)
			}
			if want := "daily-orders/" + tc.wantDate + "/orders.csv"; run.BackupKey != want {
				t.Errorf("BackupKey = %q, want %q", run.BackupKey, want)
			}
			if len(run.Deliveries) != 1 {
				t.Fatalf("Deliveries = %d, want 1", len(run.Deliveries))
			}
			if want := "/inbox/orders_" + tc.wantDate + ".csv"; run.Deliveries[0].RemotePath != want {
				t.Errorf("RemotePath = %q, want %q", run.Deliveries[0].RemotePath, want)
			}
		})
	}
}

func TestResolveGivenParamWins(t *testing.T) {
	t.Parallel()
	job := resolveJob()

	run, err := job.Resolve(message(job.Name, &tokyoEvening, map[string]string{"date": `"2025-01-31"`}), time.Now())
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if got := run.Params["date"]; got != "2025-01-31" {
		t.Errorf("params.date = %q, want the message's 2025-01-31 over the default", got)
	}
}

func TestResolveCopiesRequestedBy(t *testing.T) {
	t.Parallel()
	job := resolveJob()
	msg := message(job.Name, &tokyoEvening, nil)
	msg.RequestedBy = "manual:alice"

	run, err := job.Resolve(msg, time.Now())
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if run.RequestedBy != "manual:alice" {
		t.Errorf("RequestedBy = %q, want manual:alice", run.RequestedBy)
	}
}

func TestResolveParamValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		param Param
		raw   string
		want  string
	}{
		{"string", Param{}, `"north"`, "north"},
		{"string with tab", Param{Type: "string"}, `"a\tb"`, "a\tb"},
		{"empty string", Param{Type: "string"}, `""`, ""},
		{"date", Param{Type: "date"}, `"2024-02-29"`, "2024-02-29"},
		{"integer as number", Param{Type: "integer"}, `42`, "42"},
		{"integer as JSON string", Param{Type: "integer"}, `"42"`, "42"},
		{"negative integer", Param{Type: "integer"}, `-7`, "-7"},
		{"integer with zeros", Param{Type: "integer"}, `"007"`, "7"},
		{"boolean", Param{Type: "boolean"}, `true`, "true"},
		{"boolean as JSON string", Param{Type: "boolean"}, `"false"`, "false"},
		{"boolean upper case", Param{Type: "boolean"}, `"TRUE"`, "true"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := &Job{Name: "j", Params: map[string]Param{"value": tc.param}}

			run, err := job.Resolve(message(job.Name, &tokyoEvening, map[string]string{"value": tc.raw}), time.Now())
			if err != nil {
				t.Fatalf("Resolve with value %s: %v", tc.raw, err)
			}
			if got := run.Params["value"]; got != tc.want {
				t.Errorf("params.value = %q, want %q for JSON %s", got, tc.want, tc.raw)
			}
		})
	}
}

func TestResolveParamErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		params        map[string]Param
		messageParams map[string]string
		wantAll       []string
	}{
		{
			name:          "unknown param",
			params:        map[string]Param{"date": {Type: "date"}},
			messageParams: map[string]string{"colour": `"blue"`},
			wantAll:       []string{`unknown param "colour"`, "declares: date"},
		},
		{
			name:          "unknown param without declarations",
			params:        nil,
			messageParams: map[string]string{"colour": `"blue"`},
			wantAll:       []string{`unknown param "colour"`, "declares: none"},
		},
		{
			name:    "missing required param",
			params:  map[string]Param{"account": {Type: "integer", Required: true}},
			wantAll: []string{`missing required param "account"`, "integer"},
		},
		{
			name:          "invalid date",
			params:        map[string]Param{"date": {Type: "date"}},
			messageParams: map[string]string{"date": `"2026-13-01"`},
			wantAll:       []string{`param "date"`, "not a date", "YYYY-MM-DD"},
		},
		{
			name:          "date in another format",
			params:        map[string]Param{"date": {Type: "date"}},
			messageParams: map[string]string{"date": `"02/12/2026"`},
			wantAll:       []string{`param "date"`, "not a date"},
		},
		{
			name:          "date as number",
			params:        map[string]Param{"date": {Type: "date"}},
			messageParams: map[string]string{"date": `20261202`},
			wantAll:       []string{`param "date"`, "must be a JSON string"},
		},
		{
			name:          "integer as word",
			params:        map[string]Param{"limit": {Type: "integer"}},
			messageParams: map[string]string{"limit": `"ten"`},
			wantAll:       []string{`param "limit"`, "not an integer"},
		},
		{
			name:          "integer as fraction",
			params:        map[string]Param{"limit": {Type: "integer"}},
			messageParams: map[string]string{"limit": `4.5`},
			wantAll:       []string{`param "limit"`, "not an integer"},
		},
		{
			name:          "integer as boolean",
			params:        map[string]Param{"limit": {Type: "integer"}},
			messageParams: map[string]string{"limit": `true`},
			wantAll:       []string{`param "limit"`, "not an integer"},
		},
		{
			name:          "boolean as word",
			params:        map[string]Param{"dry_run": {Type: "boolean"}},
			messageParams: map[string]string{"dry_run": `"yes"`},
			wantAll:       []string{`param "dry_run"`, "not a boolean"},
		},
		{
			name:          "boolean as object",
			params:        map[string]Param{"dry_run": {Type: "boolean"}},
			messageParams: map[string]string{"dry_run": `{}`},
			wantAll:       []string{`param "dry_run"`, "not a boolean"},
		},
		{
			name:          "string as number",
			params:        map[string]Param{"region": {}},
			messageParams: map[string]string{"region": `5`},
			wantAll:       []string{`param "region"`, "must be a JSON string"},
		},
		{
			name:          "newline in string",
			params:        map[string]Param{"region": {}},
			messageParams: map[string]string{"region": `"north\nsouth"`},
			wantAll:       []string{`param "region"`, "control characters"},
		},
		{
			name:          "NUL in string",
			params:        map[string]Param{"region": {}},
			messageParams: map[string]string{"region": `"north\u0000"`},
			wantAll:       []string{`param "region"`, "control characters"},
		},
		{
			name:          "bell in integer",
			params:        map[string]Param{"limit": {Type: "integer"}},
			messageParams: map[string]string{"limit": `"1\u0007"`},
			wantAll:       []string{`param "limit"`, "control characters"},
		},
		{
			name:          "value too long",
			params:        map[string]Param{"region": {}},
			messageParams: map[string]string{"region": `"` + strings.Repeat("x", 4097) + `"`},
			wantAll:       []string{`param "region"`, "4097 bytes, max 4096"},
		},
		{
			name:    "default renders invalid date",
			params:  map[string]Param{"date": {Type: "date", Default: "yesterday"}},
			wantAll: []string{`param "date" default`, "not a date"},
		},
		{
			name:          "every problem reported",
			params:        map[string]Param{"date": {Type: "date"}, "account": {Required: true}},
			messageParams: map[string]string{"date": `"soon"`, "colour": `"blue"`},
			wantAll:       []string{`unknown param "colour"`, `param "date"`, `missing required param "account"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := &Job{Name: "j", Params: tc.params}

			run, err := job.Resolve(message(job.Name, &tokyoEvening, tc.messageParams), time.Now())
			if err == nil {
				t.Fatalf("Resolve returned params %v and no error, want an error", run.Params)
			}
			if !errors.Is(err, ErrInvalidParams) {
				t.Errorf("Resolve error = %q, want one wrapping ErrInvalidParams so it is treated as permanent", err)
			}
			for _, want := range tc.wantAll {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Resolve error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestResolveUnsafeValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		change    func(*Job)
		region    string // JSON value of the string param "region"
		wantField string
	}{
		{"dot-dot in name", nameTemplate("{{.Params.region}}"), `".."`, "deliver[0].sftp.name"},
		{"dot-dot inside name", nameTemplate("a{{.Params.region}}b.csv"), `".."`, "deliver[0].sftp.name"},
		{"slash in name", nameTemplate("orders_{{.Params.region}}.csv"), `"north/south"`, "deliver[0].sftp.name"},
		{"backslash in name", nameTemplate("orders_{{.Params.region}}.csv"), `"north\\south"`, "deliver[0].sftp.name"},
		{"dot as name", nameTemplate("{{.Params.region}}"), `"."`, "deliver[0].sftp.name"},
		{"empty name", nameTemplate("{{.Params.region}}"), `""`, "deliver[0].sftp.name"},
		{"tab in name", nameTemplate("orders_{{.Params.region}}.csv"), `"a\tb"`, "deliver[0].sftp.name"},
		{"control character in name", nameTemplate("orders\u0085.csv"), `"north"`, "deliver[0].sftp.name"},
		{"name over 255 bytes", nameTemplate(strings.Repeat("n", 256)), `"north"`, "deliver[0].sftp.name"},
		{"leading slash in key", keyTemplate("/{{.Job}}/{{.Params.region}}.csv"), `"north"`, "backup.key"},
		{"trailing slash in key", keyTemplate("{{.Job}}/{{.Params.region}}/"), `"north"`, "backup.key"},
		{"double slash in key", keyTemplate("{{.Job}}//{{.Params.region}}.csv"), `"north"`, "backup.key"},
		{"dot-dot in key", keyTemplate("{{.Job}}/{{.Params.region}}/x.csv"), `".."`, "backup.key"},
		{"empty key", keyTemplate("{{.Params.region}}"), `""`, "backup.key"},
		{"dot-dot in run key", runKeyTemplate("{{.Job}}/{{.Params.region}}"), `".."`, "run_key"},
		{"newline in run key", runKeyTemplate("{{.Job}}\n{{.Params.region}}"), `"north"`, "run_key"},
		{"run key over 512 bytes", runKeyTemplate(strings.Repeat("k", 513)), `"north"`, "run_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := resolveJob()
			job.Params["region"] = Param{Type: "string"}
			tc.change(job)

			run, err := job.Resolve(message(job.Name, &tokyoEvening, map[string]string{"region": tc.region}), time.Now())
			if err == nil {
				t.Fatalf("Resolve returned backup key %q, deliveries %+v and no error, want an unsafe value error", run.BackupKey, run.Deliveries)
			}
			if !errors.Is(err, ErrUnsafeTemplate) {
				t.Errorf("Resolve error = %q, want one wrapping ErrUnsafeTemplate", err)
			}
			if !strings.Contains(err.Error(), tc.wantField) {
				t.Errorf("Resolve error = %q, want it to name the field %s", err, tc.wantField)
			}
		})
	}
}

func nameTemplate(text string) func(*Job) {
	return func(j *Job) { j.Deliver[0].SFTP.Name = text }
}

func keyTemplate(text string) func(*Job) {
	return func(j *Job) { j.Backup.Key = text }
}

func runKeyTemplate(text string) func(*Job) {
	return func(j *Job) { j.RunKey = text }
}

func TestResolveTemplateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		change  func(*Job)
		wantAll []string
	}{
		{"syntax error", keyTemplate("{{.Job"), []string{"backup.key", "invalid template"}},
		{"undeclared param", keyTemplate("{{.Params.missing}}.csv"), []string{"backup.key", "rendering template", "missing"}},
		{"unknown field", nameTemplate("{{.Owner}}.csv"), []string{"deliver[0].sftp.name", "Owner"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := resolveJob()
			tc.change(job)

			_, err := job.Resolve(message(job.Name, &tokyoEvening, nil), time.Now())
			if err == nil {
				t.Fatal("Resolve returned no error for a template that cannot render")
			}
			for _, want := range tc.wantAll {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Resolve error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestResolveBadZone(t *testing.T) {
	t.Parallel()
	job := resolveJob()
	job.Schedule.Timezone = "Asia/Atlantis"

	if _, err := job.Resolve(message(job.Name, &tokyoEvening, nil), time.Now()); err == nil {
		t.Error("Resolve returned no error for a job with an unknown time zone")
	}
}

func TestResolveRejectsUnsafeGivenRunKey(t *testing.T) {
	t.Parallel()
	job := &Job{Name: "daily"}
	for _, key := range []string{"../x", "a\nb"} {
		_, err := job.Resolve(messages.Message{Version: 1, Job: "daily", RunKey: key}, time.Now())
		if !errors.Is(err, ErrUnsafeTemplate) {
			t.Errorf("Resolve with run key %q = %v, want ErrUnsafeTemplate", key, err)
		}
	}
}

func TestResolveRejectsDotSegment(t *testing.T) {
	t.Parallel()
	job := &Job{Name: "daily"}
	for _, key := range []string{"./x", "a/./b", "a/."} {
		_, err := job.Resolve(messages.Message{Version: 1, Job: "daily", RunKey: key}, time.Now())
		if !errors.Is(err, ErrUnsafeTemplate) {
			t.Errorf("Resolve with run key %q = %v, want ErrUnsafeTemplate", key, err)
		}
	}
}
