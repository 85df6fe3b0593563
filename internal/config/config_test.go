package config

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
)

func load(t *testing.T, env map[string]string) (*Config, error) {
	t.Helper()
	return Load(context.Background(), envconfig.MapLookuper(env))
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := load(t, map[string]string{})
	if err != nil {
		t.Fatalf("Load of an empty environment: %v", err)
	}

	if c.JobsDir != "jobs" {
		t.Errorf("JobsDir = %q, want jobs", c.JobsDir)
	}
	if c.Concurrency != 4 {
		t.Errorf("Concurrency = %d, want 4", c.Concurrency)
	}
	if c.VisibilityTimeout != 60*time.Second {
		t.Errorf("VisibilityTimeout = %s, want 60s", c.VisibilityTimeout)
	}
	if c.DrainTimeout != 100*time.Second {
		t.Errorf("DrainTimeout = %s, want 100s, under Fargate's 120 s stop timeout", c.DrainTimeout)
	}
	if c.LogFormat != "json" {
		t.Errorf("LogFormat = %q, want json", c.LogFormat)
	}
	if c.LogLevel != "info" {
		t.Errorf("LogLevel = %q, want info", c.LogLevel)
	}
	if c.S3PathStyle {
		t.Error("S3PathStyle = true, want false by default")
	}
	if c.QueueURL != "" || c.DLQURL != "" || c.BackupBucket != "" || c.LedgerURL != "" {
		t.Errorf("URLs and bucket = %q, %q, %q, %q, want all empty without variables",
			c.QueueURL, c.DLQURL, c.BackupBucket, c.LedgerURL)
	}
}

func TestLoadReadsVariables(t *testing.T) {
	t.Parallel()
	c, err := load(t, map[string]string{
		"BATCHPORT_QUEUE_URL":          "http://127.0.0.1:4566/000000000000/jobs",
		"BATCHPORT_DLQ_URL":            "http://127.0.0.1:4566/000000000000/jobs-dlq",
		"BATCHPORT_JOBS_DIR":           "/etc/batchport/jobs",
		"BATCHPORT_CONCURRENCY":        "8",
		"BATCHPORT_VISIBILITY_TIMEOUT": "2m",
		"BATCHPORT_DRAIN_TIMEOUT":      "0s",
		"BATCHPORT_BACKUP_BUCKET":      "batchport-backups",
		"BATCHPORT_S3_PATH_STYLE":      "true",
		"BATCHPORT_LOG_FORMAT":         "text",
		"BATCHPORT_LOG_LEVEL":          "debug",
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	if c.QueueURL != "http://127.0.0.1:4566/000000000000/jobs" {
		t.Errorf("QueueURL = %q, want the BATCHPORT_QUEUE_URL value", c.QueueURL)
	}
	if c.DLQURL != "http://127.0.0.1:4566/000000000000/jobs-dlq" {
		t.Errorf("DLQURL = %q, want the BATCHPORT_DLQ_URL value", c.DLQURL)
	}
	if c.JobsDir != "/etc/batchport/jobs" {
		t.Errorf("JobsDir = %q, want /etc/batchport/jobs", c.JobsDir)
	}
	if c.Concurrency != 8 {
		t.Errorf("Concurrency = %d, want 8", c.Concurrency)
	}
	if c.VisibilityTimeout != 2*time.Minute {
		t.Errorf("VisibilityTimeout = %s, want 2m", c.VisibilityTimeout)
	}
	if c.DrainTimeout != 0 {
		t.Errorf("DrainTimeout = %s, want 0s as set", c.DrainTimeout)
	}
	if c.BackupBucket != "batchport-backups" {
		t.Errorf("BackupBucket = %q, want batchport-backups", c.BackupBucket)
	}
	if !c.S3PathStyle {
		t.Error("S3PathStyle = false, want true as set")
	}
	if c.LogFormat != "text" {
		t.Errorf("LogFormat = %q, want text", c.LogFormat)
	}
	if c.LogLevel != "debug" {
		t.Errorf("LogLevel = %q, want debug", c.LogLevel)
	}
}

func TestLoadLedgerURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"falls back to DATABASE_URL", map[string]string{"DATABASE_URL": "postgres://source/db"}, "postgres://source/db"},
		{
			name: "own variable wins",
			env:  map[string]string{"DATABASE_URL": "postgres://source/db", "BATCHPORT_LEDGER_URL": "postgres://ledger/db"},
			want: "postgres://ledger/db",
		},
		{"neither set", map[string]string{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(t, tc.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.LedgerURL != tc.want {
				t.Errorf("LedgerURL = %q, want %q", c.LedgerURL, tc.want)
			}
			if got, want := c.DatabaseURL, tc.env["DATABASE_URL"]; got != want {
				t.Errorf("DatabaseURL = %q, want %q unchanged by the fallback", got, want)
			}
		})
	}
}

func TestLoadInvalidValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		variable string
		value    string
	}{
		{"concurrency zero", "BATCHPORT_CONCURRENCY", "0"},
		{"concurrency over 100", "BATCHPORT_CONCURRENCY", "101"},
		{"concurrency not a number", "BATCHPORT_CONCURRENCY", "four"},
		{"visibility 13 hours", "BATCHPORT_VISIBILITY_TIMEOUT", "13h"},
		{"visibility under a second", "BATCHPORT_VISIBILITY_TIMEOUT", "500ms"},
		{"visibility unparsable", "BATCHPORT_VISIBILITY_TIMEOUT", "one minute"},
		{"visibility without unit", "BATCHPORT_VISIBILITY_TIMEOUT", "60"},
		{"drain negative", "BATCHPORT_DRAIN_TIMEOUT", "-1s"},
		{"drain unparsable", "BATCHPORT_DRAIN_TIMEOUT", "soon"},
		{"log format xml", "BATCHPORT_LOG_FORMAT", "xml"},
		{"log level verbose", "BATCHPORT_LOG_LEVEL", "verbose"},
		{"path style not boolean", "BATCHPORT_S3_PATH_STYLE", "maybe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(t, map[string]string{tc.variable: tc.value})
			if err == nil {
				t.Fatalf("Load with %s=%s returned %+v and no error, want an error", tc.variable, tc.value, c)
			}
			if !strings.Contains(err.Error(), tc.variable) {
				t.Errorf("Load error = %q, want it to name the variable %s", err, tc.variable)
			}
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := load(t, map[string]string{"BATCHPORT_CONCURRENCY": "0", "BATCHPORT_LOG_FORMAT": "xml"})
	if err == nil {
		t.Fatal("Load with two invalid values returned no error")
	}
	for _, variable := range []string{"BATCHPORT_CONCURRENCY", "BATCHPORT_LOG_FORMAT"} {
		if !strings.Contains(err.Error(), variable) {
			t.Errorf("Load error = %q, want it to name %s as well", err, variable)
		}
	}
}

func TestRequireErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		require  func(*Config) error
		variable string
	}{
		{"queue", (*Config).RequireQueue, "BATCHPORT_QUEUE_URL"},
		{"backup", (*Config).RequireBackup, "BATCHPORT_BACKUP_BUCKET"},
		{"ledger", (*Config).RequireLedger, "BATCHPORT_LEDGER_URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.require(&Config{})
			if err == nil {
				t.Fatal("Require on an empty configuration returned no error")
			}
			if !strings.Contains(err.Error(), tc.variable) {
				t.Errorf("error = %q, want it to name %s", err, tc.variable)
			}
		})
	}
}

func TestRequireSatisfied(t *testing.T) {
	t.Parallel()
	c := &Config{QueueURL: "q", BackupBucket: "b", LedgerURL: "postgres://ledger/db"}
	if err := c.RequireQueue(); err != nil {
		t.Errorf("RequireQueue with a queue URL: %v", err)
	}
	if err := c.RequireBackup(); err != nil {
		t.Errorf("RequireBackup with a bucket: %v", err)
	}
	if err := c.RequireLedger(); err != nil {
		t.Errorf("RequireLedger with a ledger URL: %v", err)
	}
}

func TestLoadSecretNotInError(t *testing.T) {
	t.Parallel()
	secret := "postgres://batchport:s3cr3t-password@db.internal/ledger"
	_, err := load(t, map[string]string{"DATABASE_URL": secret, "BATCHPORT_LOG_LEVEL": "verbose"})
	if err == nil {
		t.Fatal("Load with an invalid log level returned no error")
	}
	if strings.Contains(err.Error(), "s3cr3t-password") {
		t.Errorf("Load error = %q, want it free of the database password", err)
	}
}

func TestLoadParseErrorText(t *testing.T) {
	t.Parallel()
	_, err := load(t, map[string]string{"BATCHPORT_VISIBILITY_TIMEOUT": "one minute"})
	want := `reading configuration from the environment: BATCHPORT_VISIBILITY_TIMEOUT is invalid: time: invalid duration "one minute"`
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v\nwant %s", err, want)
	}
}
