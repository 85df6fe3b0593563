package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// validJobYAML is a complete sql-export job. Tests append keys to it or
// replace its name line.
const validJobYAML = `name: daily-orders
description: Orders of the previous day.
owner: team-commerce
runbook:
  why: The partner reconciles payouts against this file.
  impact_if_stopped: Payouts are delayed.
  switch_back: Re-enable the legacy crontab line.
schedule:
  expression: cron(30 3 * * ? *)
  timezone: Asia/Tokyo
params:
  date: {type: date, default: "{{(.ScheduledFor.AddDate 0 0 -1).Format \"2006-01-02\"}}"}
timeout: 30m
handler: sql-export
export:
  query: query.sql
backup:
  key: "{{.Job}}/{{.Params.date}}.csv"
deliver:
  - sftp:
      address: sftp.partner.example:22
      user: acme
      private_key_env: PARTNER_SFTP_KEY
      known_hosts_env: PARTNER_SFTP_KNOWN_HOSTS
      dir: /inbox
      name: "orders_{{.Params.date}}.csv"
`

// writeJobFolder creates parent/folder with job.yaml and a query.sql, and
// returns the folder's path.
func writeJobFolder(t *testing.T, parent, folder, jobYAML string) string {
	t.Helper()
	dir := filepath.Join(parent, folder)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, jobFile), []byte(jobYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "query.sql"), []byte("SELECT 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func withName(jobYAML, name string) string {
	return strings.Replace(jobYAML, "name: daily-orders", "name: "+name, 1)
}

func TestLoadJobValid(t *testing.T) {
	t.Parallel()
	dir := writeJobFolder(t, t.TempDir(), "daily-orders", validJobYAML)

	job, err := LoadJob(dir)
	if err != nil {
		t.Fatalf("LoadJob of a valid job: %v", err)
	}
	if job.Name != "daily-orders" {
		t.Errorf("Name = %q, want daily-orders", job.Name)
	}
	if job.Dir != dir {
		t.Errorf("Dir = %q, want the job folder %q", job.Dir, dir)
	}
	if got := time.Duration(job.Timeout); got != 30*time.Minute {
		t.Errorf("Timeout = %s, want 30m from the YAML duration string", got)
	}
	if got := job.Params["date"].Type; got != "date" {
		t.Errorf("params.date.type = %q, want date", got)
	}
	if len(job.Deliver) != 1 || job.Deliver[0].SFTP == nil {
		t.Fatalf("Deliver = %+v, want one sftp destination", job.Deliver)
	}
	if got := job.Deliver[0].SFTP.KnownHostsEnv; got != "PARTNER_SFTP_KNOWN_HOSTS" {
		t.Errorf("known_hosts_env = %q, want PARTNER_SFTP_KNOWN_HOSTS", got)
	}
	if !job.CSV.WithHeader() {
		t.Error("WithHeader() = false for a job without csv settings, want the default true")
	}
}

func TestLoadJobErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		folder  string
		yaml    string
		wantAll []string
	}{
		{
			name:    "unknown top-level key",
			folder:  "daily-orders",
			yaml:    validJobYAML + "colour: blue\n",
			wantAll: []string{"colour", jobFile},
		},
		{
			name:    "unknown nested key",
			folder:  "daily-orders",
			yaml:    strings.Replace(validJobYAML, "  why:", "  whyy:", 1),
			wantAll: []string{"whyy"},
		},
		{
			name:    "name differs from folder",
			folder:  "other-folder",
			yaml:    validJobYAML,
			wantAll: []string{`"daily-orders"`, `"other-folder"`, "folder name"},
		},
		{
			name:    "upper case name",
			folder:  "Daily-Orders",
			yaml:    withName(validJobYAML, "Daily-Orders"),
			wantAll: []string{`name "Daily-Orders" is invalid`},
		},
		{
			name:    "name with underscore",
			folder:  "daily_orders",
			yaml:    withName(validJobYAML, "daily_orders"),
			wantAll: []string{`name "daily_orders" is invalid`},
		},
		{
			name:    "name starting with dash",
			folder:  "-orders",
			yaml:    withName(validJobYAML, `"-orders"`),
			wantAll: []string{`name "-orders" is invalid`},
		},
		{
			name:    "name of 64 characters",
			folder:  strings.Repeat("a", 64),
			yaml:    withName(validJobYAML, strings.Repeat("a", 64)),
			wantAll: []string{"is invalid", "at most 63 characters"},
		},
		{
			name:    "invalid timeout",
			folder:  "daily-orders",
			yaml:    strings.Replace(validJobYAML, "timeout: 30m", "timeout: half an hour", 1),
			wantAll: []string{`invalid duration "half an hour"`},
		},
		{
			name:    "empty file",
			folder:  "daily-orders",
			yaml:    "",
			wantAll: []string{jobFile, "is empty"},
		},
		{
			name:    "only a comment",
			folder:  "daily-orders",
			yaml:    "# TODO: fill in\n",
			wantAll: []string{jobFile, "is empty"},
		},
		{
			name:    "second document",
			folder:  "daily-orders",
			yaml:    validJobYAML + "---\ncolour: blue\n",
			wantAll: []string{jobFile, "more than one YAML document"},
		},
		{
			name:    "second document with error",
			folder:  "daily-orders",
			yaml:    validJobYAML + "---\nname: [unclosed\n",
			wantAll: []string{jobFile},
		},
		{
			name:    "not a mapping",
			folder:  "daily-orders",
			yaml:    "- just\n- a list\n",
			wantAll: []string{jobFile},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeJobFolder(t, t.TempDir(), tc.folder, tc.yaml)

			job, err := LoadJob(dir)
			if err == nil {
				t.Fatalf("LoadJob returned job %q and no error, want an error", job.Name)
			}
			for _, want := range tc.wantAll {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("LoadJob error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadJobMissingFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "daily-orders")

	_, err := LoadJob(dir)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadJob of a folder without job.yaml: error = %v, want one wrapping os.ErrNotExist", err)
	}
}

func TestCatalogLoad(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeJobFolder(t, root, "zeta-export", withName(validJobYAML, "zeta-export"))
	writeJobFolder(t, root, "alpha-export", withName(validJobYAML, "alpha-export"))
	if err := os.Mkdir(filepath.Join(root, "notes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "README.md"), []byte("catalog\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	c, err := Load(root)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var names []string
	for _, job := range c.Jobs() {
		names = append(names, job.Name)
	}
	if got, want := strings.Join(names, ","), "alpha-export,zeta-export"; got != want {
		t.Errorf("Jobs() names = %s, want %s (sorted, folders without job.yaml skipped)", got, want)
	}
	job, err := c.Job("zeta-export")
	if err != nil {
		t.Fatalf("Job(zeta-export): %v", err)
	}
	if job.Name != "zeta-export" {
		t.Errorf("Job(zeta-export).Name = %q, want zeta-export", job.Name)
	}
	if _, err := c.Job("missing-job"); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("Job(missing-job) error = %v, want one wrapping ErrUnknownJob", err)
	}
}

func TestCatalogLoadSetsAsideBadJob(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeJobFolder(t, root, "good-export", withName(validJobYAML, "good-export"))
	writeJobFolder(t, root, "bad-export", withName(validJobYAML, "bad-export")+"colour: blue\n")

	c, err := Load(root)
	if err != nil {
		t.Fatalf("Load: %v, want the bad job set aside and no error", err)
	}
	problem := c.Problems()["bad-export"]
	if problem == nil {
		t.Fatal("Problems() lacks bad-export")
	}
	if want := filepath.Join(root, "bad-export", jobFile); !strings.Contains(problem.Error(), want) {
		t.Errorf("problem = %q, want it to name %s", problem, want)
	}
	if !strings.Contains(problem.Error(), `unknown key "colour"`) {
		t.Errorf("problem = %q, want it to name the unknown key", problem)
	}
	if _, err := c.Job("good-export"); err != nil {
		t.Errorf("Job(good-export): %v, want the valid job to load beside the bad one", err)
	}
	if _, err := c.Job("bad-export"); !errors.Is(err, ErrInvalidJob) {
		t.Errorf("Job(bad-export) error = %v, want one wrapping ErrInvalidJob", err)
	}
}

func TestCatalogValidateSetsAsideInvalidJob(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeJobFolder(t, root, "good-export", withName(validJobYAML, "good-export"))
	writeJobFolder(t, root, "odd-export", withName(validJobYAML, "odd-export"))
	c, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	c.Validate(time.Now(), func(job *Job) error {
		if job.Name == "odd-export" {
			return errors.New("handler check failed")
		}
		return nil
	})
	if _, err := c.Job("odd-export"); !errors.Is(err, ErrInvalidJob) || !strings.Contains(err.Error(), "handler check failed") {
		t.Errorf("Job(odd-export) error = %v, want ErrInvalidJob with the check's reason", err)
	}
	if len(c.Jobs()) != 1 {
		t.Errorf("Jobs() has %d jobs after validation, want 1", len(c.Jobs()))
	}
}

func TestCatalogLoadMissingDir(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "absent"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing folder: error = %v, want one wrapping os.ErrNotExist", err)
	}
}

func TestJobLocation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		schedule *Schedule
		want     string
		wantErr  bool
	}{
		{"no schedule", nil, "UTC", false},
		{"schedule without zone", &Schedule{Expression: "rate(1 hour)"}, "UTC", false},
		{"Tokyo", &Schedule{Timezone: "Asia/Tokyo"}, "Asia/Tokyo", false},
		{"unknown zone", &Schedule{Timezone: "Mars/Olympus"}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := &Job{Name: "j", Schedule: tc.schedule}

			loc, err := job.Location()
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Location() = %v, want an error for an unknown zone", loc)
				}
				if !strings.Contains(err.Error(), "Mars/Olympus") {
					t.Errorf("Location() error = %q, want it to name the zone", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Location(): %v", err)
			}
			if loc.String() != tc.want {
				t.Errorf("Location() = %s, want %s", loc, tc.want)
			}
		})
	}
}
