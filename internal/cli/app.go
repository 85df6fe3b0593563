package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/sethvargo/go-envconfig"

	"github.com/batchport/batchport/handlers"
	"github.com/batchport/batchport/internal/catalog"
	"github.com/batchport/batchport/internal/config"
	"github.com/batchport/batchport/internal/ledger"
	"github.com/batchport/batchport/internal/runner"
	"github.com/batchport/batchport/internal/s3store"
)

// app builds, on first use, what the commands share: configuration,
// logger, AWS clients, the catalog and the ledger.
type app struct {
	streams Streams
	// started is set once a command's own code runs, to tell its errors from cobra's usage errors.
	started bool

	cfg     *config.Config
	logger  *slog.Logger
	aws     *aws.Config
	catalog *catalog.Catalog
	ledger  *ledger.Ledger
}

func (a *app) config(ctx context.Context) (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	lookuper := envconfig.LookuperFunc(a.streams.LookupEnv)
	cfg, err := config.Load(ctx, lookuper)
	if err != nil {
		return nil, invalidInput(err)
	}
	a.cfg = cfg
	return cfg, nil
}

func (a *app) log(ctx context.Context) (*slog.Logger, error) {
	if a.logger != nil {
		return a.logger, nil
	}
	cfg, err := a.config(ctx)
	if err != nil {
		return nil, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, invalidInput(fmt.Errorf("BATCHPORT_LOG_LEVEL: %w", err))
	}
	options := &slog.HandlerOptions{Level: level}
	var handler slog.Handler = slog.NewJSONHandler(a.streams.Err, options)
	if cfg.LogFormat == "text" {
		handler = slog.NewTextHandler(a.streams.Err, options)
	}
	a.logger = slog.New(handler)
	return a.logger, nil
}

func (a *app) awsConfig(ctx context.Context) (aws.Config, error) {
	if a.aws != nil {
		return *a.aws, nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	a.aws = &cfg
	return cfg, nil
}

func (a *app) sqsClient(ctx context.Context) (*sqs.Client, error) {
	cfg, err := a.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return sqs.NewFromConfig(cfg), nil
}

// deadLetterQueue returns the SQS client and the DLQ's URL: BATCHPORT_DLQ_URL,
// else the target of the job queue's redrive policy.
func (a *app) deadLetterQueue(ctx context.Context) (*sqs.Client, string, error) {
	cfg, err := a.config(ctx)
	if err != nil {
		return nil, "", err
	}
	client, err := a.sqsClient(ctx)
	if err != nil {
		return nil, "", err
	}
	if cfg.DLQURL != "" {
		return client, cfg.DLQURL, nil
	}
	if err := cfg.RequireQueue(); err != nil {
		return nil, "", invalidInput(fmt.Errorf("%w, or BATCHPORT_DLQ_URL", err))
	}
	url, err := deadLetterQueueURL(ctx, client, cfg.QueueURL)
	return client, url, err
}

func (a *app) store(ctx context.Context) (*s3store.Store, error) {
	cfg, err := a.config(ctx)
	if err != nil {
		return nil, err
	}
	if err := cfg.RequireBackup(); err != nil {
		return nil, invalidInput(err)
	}
	awsCfg, err := a.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = cfg.S3PathStyle })
	return s3store.New(client, cfg.BackupBucket, nil), nil
}

func (a *app) jobs(ctx context.Context) (*catalog.Catalog, error) {
	if a.catalog != nil {
		return a.catalog, nil
	}
	cfg, err := a.config(ctx)
	if err != nil {
		return nil, err
	}
	c, err := catalog.Load(cfg.JobsDir)
	if err != nil {
		return nil, invalidInput(err)
	}
	c.Validate(time.Now(), validationRegistry().Validate)
	a.catalog = c
	return c, nil
}

// job returns the catalog's job called name; a name that is unknown or
// invalid is the user's input error (exit status 2).
func (a *app) job(ctx context.Context, name string) (*catalog.Job, error) {
	jobs, err := a.jobs(ctx)
	if err != nil {
		return nil, err
	}
	job, err := jobs.Job(name)
	if err != nil {
		return nil, invalidInput(err)
	}
	return job, nil
}

func (a *app) runLedger(ctx context.Context) (*ledger.Ledger, error) {
	if a.ledger != nil {
		return a.ledger, nil
	}
	cfg, err := a.config(ctx)
	if err != nil {
		return nil, err
	}
	if err := cfg.RequireLedger(); err != nil {
		return nil, invalidInput(err)
	}
	l, err := ledger.Open(ctx, cfg.LedgerURL)
	if err != nil {
		return nil, err
	}
	a.ledger = l
	return l, nil
}

// registry returns the handlers, wired to the app's store and environment.
func (a *app) registry(ctx context.Context) (*handlers.Registry, error) {
	store, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	logger, err := a.log(ctx)
	if err != nil {
		return nil, err
	}
	registry := handlers.NewRegistry()
	registry.Register("sql-export", &handlers.SQLExport{Store: store, LookupEnv: a.streams.LookupEnv, Logger: logger})
	return registry, nil
}

// validationRegistry returns handlers for validating jobs only; it needs no configuration.
func validationRegistry() *handlers.Registry {
	registry := handlers.NewRegistry()
	registry.Register("sql-export", &handlers.SQLExport{})
	return registry
}

func (a *app) runner(ctx context.Context) (*runner.Runner, error) {
	jobs, err := a.jobs(ctx)
	if err != nil {
		return nil, err
	}
	registry, err := a.registry(ctx)
	if err != nil {
		return nil, err
	}
	l, err := a.runLedger(ctx)
	if err != nil {
		return nil, err
	}
	logger, err := a.log(ctx)
	if err != nil {
		return nil, err
	}
	return &runner.Runner{
		Catalog: jobs, Registry: registry, Ledger: l, Logger: logger,
		Owner: owner(), Lease: leaseFor(a.cfg),
	}, nil
}

// leaseFor returns the lease of a run claim: the visibility timeout, so a
// message that reappears after its worker died finds the lease about to
// expire, and another worker takes the run over.
func leaseFor(cfg *config.Config) time.Duration {
	return max(cfg.VisibilityTimeout, 5*time.Second)
}

// owner names this process for the ledger: host name and process id.
func owner() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return strings.ToLower(host) + "/" + fmt.Sprint(os.Getpid())
}

func (a *app) close() {
	if a.ledger != nil {
		a.ledger.Close()
	}
}
