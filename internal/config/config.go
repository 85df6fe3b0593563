// Package config loads batchport's settings from the environment.
package config

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Config is every setting batchport reads from the environment. AWS settings
// (region, endpoints, credentials) are not here: the SDK reads its own variables.
type Config struct {
	// QueueURL is the job queue. Required by `worker` and `enqueue`.
	QueueURL string `env:"BATCHPORT_QUEUE_URL"`
	// DLQURL is the dead-letter queue. Default: the queue's redrive policy target.
	DLQURL string `env:"BATCHPORT_DLQ_URL"`
	// JobsDir is the job catalog folder. Default: jobs.
	JobsDir string `env:"BATCHPORT_JOBS_DIR, default=jobs"`
	// Concurrency is how many jobs one worker runs at once. Default: 4. As
	// many finished jobs again may be waiting for their message's delete.
	Concurrency int `env:"BATCHPORT_CONCURRENCY, default=4"`
	// VisibilityTimeout is the visibility timeout each receive requests, which heartbeats extend. Default: 60s.
	VisibilityTimeout time.Duration `env:"BATCHPORT_VISIBILITY_TIMEOUT, default=60s"`
	// DrainTimeout is how long SIGTERM waits for running jobs. Default: 100s.
	DrainTimeout time.Duration `env:"BATCHPORT_DRAIN_TIMEOUT, default=100s"`
	// BackupBucket is the S3 bucket for backups.
	BackupBucket string `env:"BATCHPORT_BACKUP_BUCKET"`
	// LedgerURL is the PostgreSQL URL of the run ledger. Default: DATABASE_URL.
	LedgerURL string `env:"BATCHPORT_LEDGER_URL"`
	// DatabaseURL is the default export source.
	DatabaseURL string `env:"DATABASE_URL"`
	// S3PathStyle selects path-style S3 addressing, which local S3 servers need. Default: false.
	S3PathStyle bool `env:"BATCHPORT_S3_PATH_STYLE, default=false"`
	// LogFormat is json or text. Default: json.
	LogFormat string `env:"BATCHPORT_LOG_FORMAT, default=json"`
	// LogLevel is debug, info, warn or error. Default: info.
	LogLevel string `env:"BATCHPORT_LOG_LEVEL, default=info"`
}

// Load reads the configuration through lookuper (envconfig.OsLookuper() in
// production, a map in tests), fills derived defaults and validates it.
func Load(ctx context.Context, lookuper envconfig.Lookuper) (*Config, error) {
	var c Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c, Lookuper: lookuper}); err != nil {
		return nil, fmt.Errorf("reading configuration from the environment: %w", nameVariable(err))
	}
	if c.LedgerURL == "" {
		c.LedgerURL = c.DatabaseURL
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// nameVariable rewrites an envconfig parse error, which names the struct
// field (such as VisibilityTimeout), so that it names the environment
// variable the user sets instead. Other errors are returned unchanged.
func nameVariable(err error) error {
	configType := reflect.TypeFor[Config]()
	for i := range configType.NumField() {
		field := configType.Field(i)
		variable, _, _ := strings.Cut(field.Tag.Get("env"), ",")
		if variable != "" && strings.HasPrefix(err.Error(), field.Name+": ") {
			return fmt.Errorf("%s is invalid: %w", variable, errors.Unwrap(err))
		}
	}
	return err
}

func (c *Config) validate() error {
	var errs []error
	if c.Concurrency < 1 || c.Concurrency > 100 {
		errs = append(errs, fmt.Errorf("BATCHPORT_CONCURRENCY=%d is invalid: use 1 to 100", c.Concurrency))
	}
	if c.VisibilityTimeout < time.Second || c.VisibilityTimeout > 12*time.Hour {
		errs = append(errs, fmt.Errorf("BATCHPORT_VISIBILITY_TIMEOUT=%s is invalid: use 1s to 12h", c.VisibilityTimeout))
	}
	if c.DrainTimeout < 0 {
		errs = append(errs, fmt.Errorf("BATCHPORT_DRAIN_TIMEOUT=%s is invalid: it cannot be negative", c.DrainTimeout))
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		errs = append(errs, fmt.Errorf("BATCHPORT_LOG_FORMAT=%q is invalid: use json or text", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("BATCHPORT_LOG_LEVEL=%q is invalid: use debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// RequireQueue returns an error naming BATCHPORT_QUEUE_URL when it is unset.
func (c *Config) RequireQueue() error {
	if c.QueueURL == "" {
		return errors.New("BATCHPORT_QUEUE_URL is not set: set it to the job queue's URL")
	}
	return nil
}

// RequireBackup returns an error naming the unset variables the sql-export
// handler needs.
func (c *Config) RequireBackup() error {
	if c.BackupBucket == "" {
		return errors.New("BATCHPORT_BACKUP_BUCKET is not set: set it to the backup bucket's name")
	}
	return nil
}

// RequireLedger returns an error when neither BATCHPORT_LEDGER_URL nor DATABASE_URL is set.
func (c *Config) RequireLedger() error {
	if c.LedgerURL == "" {
		return errors.New("BATCHPORT_LEDGER_URL and DATABASE_URL are not set: set one to the ledger's PostgreSQL URL")
	}
	return nil
}
