package catalog

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var validateNow = time.Date(2026, 12, 2, 18, 30, 0, 0, time.UTC)

// loadValidJob loads validJobYAML from a fresh folder, so each test can
// change its own copy.
func loadValidJob(t *testing.T) *Job {
	t.Helper()
	job, err := LoadJob(writeJobFolder(t, t.TempDir(), "daily-orders", validJobYAML))
	if err != nil {
		t.Fatalf("LoadJob of the valid job: %v", err)
	}
	return job
}

func TestValidateValidJob(t *testing.T) {
	t.Parallel()
	if err := loadValidJob(t).Validate(validateNow); err != nil {
		t.Errorf("Validate of a valid job: %v", err)
	}
}

func TestValidateSampleJob(t *testing.T) {
	t.Parallel()
	job, err := LoadJob(filepath.Join("..", "..", "jobs", "partner-daily-orders"))
	if err != nil {
		t.Fatalf("LoadJob of the sample job: %v", err)
	}
	if err := job.Validate(validateNow); err != nil {
		t.Errorf("Validate of the sample job: %v", err)
	}
}

func TestValidateSampleCatalog(t *testing.T) {
	t.Parallel()
	c, err := Load(filepath.Join("..", "..", "jobs"))
	if err != nil {
		t.Fatalf("Load of the sample catalog: %v", err)
	}
	if len(c.Jobs()) == 0 {
		t.Fatal("the sample catalog has no jobs")
	}
	for _, job := range c.Jobs() {
		if err := job.Validate(validateNow); err != nil {
			t.Errorf("Validate of sample job %s: %v", job.Name, err)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		change  func(t *testing.T, j *Job)
		wantAll []string
	}{
		{"missing description", func(t *testing.T, j *Job) { j.Description = "" }, []string{"description is missing"}},
		{"blank owner", func(t *testing.T, j *Job) { j.Owner = "  " }, []string{"owner is missing"}},
		{"missing runbook why", func(t *testing.T, j *Job) { j.Runbook.Why = "" }, []string{"runbook.why is missing"}},
		{"missing runbook impact", func(t *testing.T, j *Job) { j.Runbook.ImpactIfStopped = "" }, []string{"runbook.impact_if_stopped is missing"}},
		{"missing runbook switch back", func(t *testing.T, j *Job) { j.Runbook.SwitchBack = "" }, []string{"runbook.switch_back is missing"}},
		{"placeholder runbook why", func(t *testing.T, j *Job) { j.Runbook.Why = "..." }, []string{`runbook.why is a placeholder ("...")`}},
		{"placeholder runbook impact", func(t *testing.T, j *Job) { j.Runbook.ImpactIfStopped = "TODO" }, []string{`runbook.impact_if_stopped is a placeholder ("TODO")`}},
		{"placeholder owner", func(t *testing.T, j *Job) { j.Owner = "tbd" }, []string{`owner is a placeholder ("tbd")`}},
		{
			name:    "missing whole runbook",
			change:  func(t *testing.T, j *Job) { j.Runbook = Runbook{} },
			wantAll: []string{"runbook.why is missing", "runbook.impact_if_stopped is missing", "runbook.switch_back is missing"},
		},
		{
			name:    "cron with both day fields",
			change:  func(t *testing.T, j *Job) { j.Schedule.Expression = "cron(0 12 * * 1 *)" },
			wantAll: []string{"schedule.expression", "cron(0 12 * * 1 *)"},
		},
		{
			name:    "rate with plural unit for one",
			change:  func(t *testing.T, j *Job) { j.Schedule.Expression = "rate(1 minutes)" },
			wantAll: []string{"schedule.expression", "rate(1 minutes)", `"minute"`},
		},
		{
			name:    "cron with five fields",
			change:  func(t *testing.T, j *Job) { j.Schedule.Expression = "cron(30 3 * * *)" },
			wantAll: []string{"schedule.expression", "cron(30 3 * * *)"},
		},
		{
			name:    "cron on a day that does not exist",
			change:  func(t *testing.T, j *Job) { j.Schedule.Expression = "cron(0 12 31 2 ? *)" },
			wantAll: []string{"schedule.expression cron(0 12 31 2 ? *) never fires after now"},
		},
		{
			name:    "cron in a past year",
			change:  func(t *testing.T, j *Job) { j.Schedule.Expression = "cron(0 12 ? * MON-FRI 2025)" },
			wantAll: []string{"schedule.expression cron(0 12 ? * MON-FRI 2025) never fires after now"},
		},
		{
			name:    "expression of no known form",
			change:  func(t *testing.T, j *Job) { j.Schedule.Expression = "every day" },
			wantAll: []string{"schedule.expression", "every day"},
		},
		{
			name:    "empty expression",
			change:  func(t *testing.T, j *Job) { j.Schedule.Expression = "" },
			wantAll: []string{"schedule.expression is missing"},
		},
		{
			name:    "unknown schedule zone",
			change:  func(t *testing.T, j *Job) { j.Schedule.Timezone = "Asia/Atlantis" },
			wantAll: []string{`"Asia/Atlantis"`},
		},
		{
			name:    "timeout over 12 hours",
			change:  func(t *testing.T, j *Job) { j.Timeout = Duration(12*time.Hour + time.Second) },
			wantAll: []string{"timeout 12h0m1s is invalid"},
		},
		{
			name:    "negative timeout",
			change:  func(t *testing.T, j *Job) { j.Timeout = Duration(-time.Minute) },
			wantAll: []string{"timeout -1m0s is invalid"},
		},
		{"missing handler", func(t *testing.T, j *Job) { j.Handler = "" }, []string{"handler is missing"}},
		{"sql-export without export", func(t *testing.T, j *Job) { j.Export = nil }, []string{"export is missing"}},
		{"sql-export without backup", func(t *testing.T, j *Job) { j.Backup = nil }, []string{"backup.key is missing"}},
		{"sql-export with empty backup key", func(t *testing.T, j *Job) { j.Backup.Key = "" }, []string{"backup.key is missing"}},
		{"missing query file", func(t *testing.T, j *Job) { j.Export.Query = "absent.sql" }, []string{"reading export query", "absent.sql"}},
		{"empty query setting", func(t *testing.T, j *Job) { j.Export.Query = "" }, []string{"export.query is missing"}},
		{
			name: "blank query file",
			change: func(t *testing.T, j *Job) {
				if err := os.WriteFile(filepath.Join(j.Dir, "query.sql"), []byte("  \n"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantAll: []string{"export.query", "is empty"},
		},
		{
			name:    "unknown export zone",
			change:  func(t *testing.T, j *Job) { j.Export.Timezone = "Tokyo" },
			wantAll: []string{`export.timezone "Tokyo" is invalid`},
		},
		{
			name:    "sftp without known hosts",
			change:  func(t *testing.T, j *Job) { j.Deliver[0].SFTP.KnownHostsEnv = "" },
			wantAll: []string{"deliver[0].sftp.known_hosts_env is missing"},
		},
		{
			name:    "sftp without user",
			change:  func(t *testing.T, j *Job) { j.Deliver[0].SFTP.User = "" },
			wantAll: []string{"deliver[0].sftp.user is missing"},
		},
		{
			name:    "sftp without key",
			change:  func(t *testing.T, j *Job) { j.Deliver[0].SFTP.PrivateKeyEnv = "" },
			wantAll: []string{"deliver[0].sftp.private_key_env is missing"},
		},
		{
			name:    "sftp without name",
			change:  func(t *testing.T, j *Job) { j.Deliver[0].SFTP.Name = "" },
			wantAll: []string{"deliver[0].sftp.name is missing"},
		},
		{
			name:    "address without port",
			change:  func(t *testing.T, j *Job) { j.Deliver[0].SFTP.Address = "sftp.partner.example" },
			wantAll: []string{`deliver[0].sftp.address "sftp.partner.example" is invalid`},
		},
		{
			name:    "address with empty port",
			change:  func(t *testing.T, j *Job) { j.Deliver[0].SFTP.Address = "sftp.partner.example:" },
			wantAll: []string{`deliver[0].sftp.address "sftp.partner.example:" is invalid`},
		},
		{
			name:    "relative dir",
			change:  func(t *testing.T, j *Job) { j.Deliver[0].SFTP.Dir = "inbox" },
			wantAll: []string{`deliver[0].sftp.dir "inbox" is invalid`},
		},
		{
			name:    "dir with dot-dot",
			change:  func(t *testing.T, j *Job) { j.Deliver[0].SFTP.Dir = "/inbox/../etc" },
			wantAll: []string{`deliver[0].sftp.dir "/inbox/../etc" is invalid`},
		},
		{
			name: "second destination named",
			change: func(t *testing.T, j *Job) {
				second := *j.Deliver[0].SFTP
				second.KnownHostsEnv = ""
				j.Deliver = append(j.Deliver, Destination{SFTP: &second})
			},
			wantAll: []string{"deliver[1].sftp.known_hosts_env is missing"},
		},
		{
			name:    "destination other than sftp",
			change:  func(t *testing.T, j *Job) { j.Deliver = append(j.Deliver, Destination{}) },
			wantAll: []string{"deliver[1]: only sftp destinations are supported"},
		},
		{
			name:    "csv encoding cp932",
			change:  func(t *testing.T, j *Job) { j.CSV.Encoding = "cp932" },
			wantAll: []string{`csv.encoding "cp932" is not supported`},
		},
		{"csv bom", func(t *testing.T, j *Job) { j.CSV.BOM = true }, []string{"csv.bom true is not supported"}},
		{"csv crlf", func(t *testing.T, j *Job) { j.CSV.Newline = "crlf" }, []string{`csv.newline "crlf" is not supported`}},
		{"csv null text", func(t *testing.T, j *Job) { j.CSV.Null = "NULL" }, []string{`csv.null "NULL" is not supported`}},
		{"csv quote all", func(t *testing.T, j *Job) { j.CSV.Quote = "all" }, []string{`csv.quote "all" is not supported`}},
		{
			name:    "param name upper case",
			change:  func(t *testing.T, j *Job) { j.Params["Region"] = Param{} },
			wantAll: []string{`params: name "Region" is invalid`},
		},
		{
			name:    "param type float",
			change:  func(t *testing.T, j *Job) { j.Params["ratio"] = Param{Type: "float"} },
			wantAll: []string{`params.ratio: type "float" is invalid`},
		},
		{
			name:    "param required with default",
			change:  func(t *testing.T, j *Job) { j.Params["limit"] = Param{Type: "integer", Required: true, Default: "5"} },
			wantAll: []string{"params.limit: required and default exclude each other"},
		},
		{
			name:    "template of undeclared param",
			change:  func(t *testing.T, j *Job) { j.Backup.Key = "{{.Params.region}}.csv" },
			wantAll: []string{"backup.key", "region"},
		},
		{
			name:    "template renders unsafe name",
			change:  func(t *testing.T, j *Job) { j.Deliver[0].SFTP.Name = "../orders.csv" },
			wantAll: []string{"deliver[0].sftp.name", "unsafe rendered value"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := loadValidJob(t)
			tc.change(t, job)

			err := job.Validate(validateNow)
			if err == nil {
				t.Fatal("Validate returned no error, want one")
			}
			if !strings.HasPrefix(err.Error(), "job daily-orders: ") {
				t.Errorf("Validate error = %q, want it to start with the job name", err)
			}
			for _, want := range tc.wantAll {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestValidateAcceptedSettings(t *testing.T) {
	t.Parallel()
	header := false
	tests := []struct {
		name   string
		change func(j *Job)
	}{
		{"timeout of 12 hours", func(j *Job) { j.Timeout = Duration(MaxTimeout) }},
		{"no timeout", func(j *Job) { j.Timeout = 0 }},
		{"manual-only job", func(j *Job) { j.Schedule = nil }},
		{"rate schedule", func(j *Job) { j.Schedule.Expression = "rate(1 minute)" }},
		{"at schedule", func(j *Job) { j.Schedule.Expression = "at(2027-01-01T03:30:00)" }},
		{"explicit csv defaults", func(j *Job) {
			j.CSV = CSV{Header: &header, Encoding: "utf-8", Newline: "lf", Quote: "minimal"}
		}},
		{"no destinations", func(j *Job) { j.Deliver = nil }},
		{"handler other than sql-export", func(j *Job) { j.Handler = "sql"; j.Export = nil; j.Backup = nil }},
		{"IPv6 address", func(j *Job) { j.Deliver[0].SFTP.Address = "[::1]:2222" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := loadValidJob(t)
			tc.change(job)

			if err := job.Validate(validateNow); err != nil {
				t.Errorf("Validate: %v, want no error", err)
			}
		})
	}
}

func TestValidateRequiredParamUsesSample(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		param Param
	}{
		{"string", Param{Required: true}},
		{"date", Param{Type: "date", Required: true}},
		{"integer", Param{Type: "integer", Required: true}},
		{"boolean", Param{Type: "boolean", Required: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := loadValidJob(t)
			job.Params["account"] = tc.param
			job.Deliver[0].SFTP.Name = "orders_{{.Params.account}}_{{.Params.date}}.csv"
			job.Backup.Key = "{{.Job}}/{{.Params.account}}/orders.csv"

			if err := job.Validate(validateNow); err != nil {
				t.Errorf("Validate of a job with a required %s param used in templates: %v", tc.param.typeName(), err)
			}
		})
	}
}

func TestTimeoutOrDefault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		timeout Duration
		want    time.Duration
	}{
		{"unset", 0, time.Hour},
		{"set", Duration(30 * time.Minute), 30 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := &Job{Timeout: tc.timeout}
			if got := job.TimeoutOrDefault(); got != tc.want {
				t.Errorf("TimeoutOrDefault() = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestMissingEnv(t *testing.T) {
	t.Parallel()
	job := loadValidJob(t)
	env := map[string]string{"PARTNER_SFTP_KEY": "secret"}
	lookup := func(name string) (string, bool) {
		value, ok := env[name]
		return value, ok
	}

	got := job.MissingEnv(lookup)
	want := []string{"DATABASE_URL", "PARTNER_SFTP_KNOWN_HOSTS"}
	if !slices.Equal(got, want) {
		t.Errorf("MissingEnv() = %v, want %v (the default database variable and the unset known hosts)", got, want)
	}
}

func TestDatabaseEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		export *Export
		want   string
	}{
		{"no export", nil, "DATABASE_URL"},
		{"unset", &Export{Query: "q.sql"}, "DATABASE_URL"},
		{"set", &Export{Query: "q.sql", DatabaseEnv: "REPORTING_DB_URL"}, "REPORTING_DB_URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := &Job{Export: tc.export}
			if got := job.DatabaseEnv(); got != tc.want {
				t.Errorf("DatabaseEnv() = %q, want %q", got, tc.want)
			}
		})
	}
}
