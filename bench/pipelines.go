package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const benchQuery = "select * from pgbench_accounts"

// pipeline names, in the order they run in each round.
const (
	pipelinePsql      = "psql_copy"
	pipelineLegacy    = "legacy"
	pipelineBatchport = "batchport"
)

// benchJob is the catalog entry batchport runs: the same query, kept in S3
// and delivered to the stack's SFTP server.
const benchJob = `name: pgbench-accounts
description: pgbench_accounts, for the benchmark.
owner: team-platform
runbook: {why: benchmark, impact_if_stopped: none, switch_back: none}
run_key: "{{.Job}}-{{.ScheduledFor.Format \"20060102T150405\"}}"
handler: sql-export
export: {query: query.sql, database_env: BENCH_DATABASE_URL}
backup: {key: "bench/{{.RunKey}}.csv"}
deliver:
  - sftp:
      address: 127.0.0.1:%s
      user: partner
      private_key_env: PARTNER_SFTP_KEY
      known_hosts_env: PARTNER_SFTP_KNOWN_HOSTS
      dir: /inbox
      name: "bench-{{.RunKey}}.csv"
`

type bench struct {
	query   string
	env     *stackEnv
	opts    options
	catalog string
	keyFile string
	known   string
	csvFile string
	// psqlBytes is the size of psql's file, which batchport's delivered file must match.
	psqlBytes int64
	s3Client  *s3.Client
}

func newBench(ctx context.Context, env *stackEnv, opts options, query string) (*bench, error) {
	b := &bench{query: query, env: env, opts: opts, catalog: filepath.Join(opts.work, "jobs"),
		keyFile: filepath.Join(opts.work, "partner_key"), known: filepath.Join(opts.work, "known_hosts"),
		csvFile: filepath.Join(opts.work, "accounts.csv")}
	jobDir := filepath.Join(b.catalog, "pgbench-accounts")
	if err := os.MkdirAll(jobDir, 0o700); err != nil {
		return nil, err
	}
	files := map[string]string{
		filepath.Join(jobDir, "job.yaml"):  fmt.Sprintf(benchJob, env.sftpPort),
		filepath.Join(jobDir, "query.sql"): query + "\n",
		b.keyFile:                          env.key + "\n",
		b.known:                            env.knownHosts + "\n",
	}
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return nil, err
		}
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	b.s3Client = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	return b, nil
}

func (b *bench) psql(ctx context.Context) (Sample, error) {
	copyCommand := fmt.Sprintf(`\copy (%s) to '%s' csv header`, b.query, b.csvFile)
	return measure(ctx, os.Environ(), "", "psql", b.env.benchURL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", copyCommand)
}

// removeCSV deletes psql's file once a pipeline is done with it, as a
// legacy batch deletes its temporary file. A 490 MB file left in the page
// cache slowed the next pipeline by 0.2 to 0.4 s here, and whichever
// pipeline ran after psql would pay for it.
func (b *bench) removeCSV() error {
	if err := os.Remove(b.csvFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// legacy runs the shell pipeline a legacy batch used: a file from psql,
// then the AWS CLI, then OpenSSH's sftp, one after another.
func (b *bench) legacy(ctx context.Context, round int) ([]Sample, error) {
	psql, err := b.psql(ctx)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("bench/legacy-%d.csv", round)
	aws, err := measure(ctx, os.Environ(), "", "aws", "s3", "cp", "--quiet", b.csvFile, "s3://"+b.env.bucket+"/"+key)
	if err != nil {
		return nil, err
	}
	remote := fmt.Sprintf("/inbox/bench-legacy-%d.csv", round)
	sftp, err := measure(ctx, os.Environ(), "put "+b.csvFile+" "+remote+"\n", "sftp", "-q", "-b", "-", "-P", b.env.sftpPort,
		"-i", b.keyFile, "-o", "UserKnownHostsFile="+b.known, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		"partner@127.0.0.1")
	if err != nil {
		return nil, err
	}
	b.cleanUp(ctx, key, remote)
	if err := b.removeCSV(); err != nil {
		return nil, err
	}
	return []Sample{psql, aws, sftp}, nil
}

func (b *bench) batchport(ctx context.Context, round int) (Sample, error) {
	runKey := fmt.Sprintf("run-%d-%d", time.Now().Unix(), round)
	env := append(os.Environ(),
		"BATCHPORT_JOBS_DIR="+b.catalog,
		"BENCH_DATABASE_URL="+b.env.benchURL,
		"BATCHPORT_LEDGER_URL="+b.env.benchURL,
		"BATCHPORT_LOG_LEVEL=warn",
	)
	sample, err := measure(ctx, env, "", b.opts.binary, "run", "pgbench-accounts", "--run-key", runKey)
	if err != nil {
		return Sample{}, err
	}
	if err := b.checkSameSize("/inbox/bench-" + runKey + ".csv"); err != nil {
		return Sample{}, err
	}
	b.cleanUp(ctx, "bench/"+runKey+".csv", "/inbox/bench-"+runKey+".csv")
	return sample, nil
}

// checkSameSize compares batchport's delivered file with psql's, so the
// three pipelines are known to move the same bytes.
func (b *bench) checkSameSize(remote string) error {
	delivered, err := os.Stat(filepath.Join(b.env.sftpRoot, remote))
	if err != nil {
		return fmt.Errorf("batchport's delivered file: %w", err)
	}
	if delivered.Size() != b.psqlBytes {
		return fmt.Errorf("batchport delivered %d bytes, psql wrote %d", delivered.Size(), b.psqlBytes)
	}
	return nil
}

// warmUp runs psql once, unmeasured, to warm PostgreSQL's caches and to
// record the size of its file for checkSameSize.
func (b *bench) warmUp(ctx context.Context) error {
	if _, err := b.psql(ctx); err != nil {
		return err
	}
	written, err := os.Stat(b.csvFile)
	if err != nil {
		return err
	}
	b.psqlBytes = written.Size()
	return b.removeCSV()
}

// cleanUp removes a run's S3 object and delivered file, so runs do not fill the disk.
func (b *bench) cleanUp(ctx context.Context, key, remote string) {
	_, _ = b.s3Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.env.bucket), Key: aws.String(key)})
	_ = os.Remove(filepath.Join(b.env.sftpRoot, remote))
}

// measurePipelines runs each pipeline opts.runs times, interleaved and in
// a rotating order, so that a slow moment of the machine, or the work a
// pipeline leaves behind (dirty pages, a server's garbage), hits all three alike.
func measurePipelines(ctx context.Context, env *stackEnv, opts options, rows int64) (map[string]*Series, error) {
	b, err := newBench(ctx, env, opts, benchQuery)
	if err != nil {
		return nil, err
	}
	series := map[string]*Series{pipelinePsql: {}, pipelineLegacy: {}, pipelineBatchport: {}}
	if err := b.warmUp(ctx); err != nil {
		return nil, err
	}
	order := []string{pipelinePsql, pipelineLegacy, pipelineBatchport}
	for round := 1; round <= opts.runs; round++ {
		fmt.Printf("== round %d of %d\n", round, opts.runs)
		walls := map[string]float64{}
		for _, name := range order {
			sample, parts, err := b.run(ctx, name, round)
			if err != nil {
				return nil, err
			}
			series[name].add(sample, rows)
			if parts != nil {
				series[name].addParts(parts)
			}
			walls[name] = sample.WallSeconds
		}
		fmt.Printf("   psql %.2fs   legacy %.2fs   batchport %.2fs\n", walls[pipelinePsql], walls[pipelineLegacy], walls[pipelineBatchport])
		order = append(order[1:], order[0])
	}
	return series, nil
}

// run measures one pipeline. For the legacy pipeline it also returns the
// sample of each of its three processes.
func (b *bench) run(ctx context.Context, name string, round int) (Sample, []Sample, error) {
	switch name {
	case pipelinePsql:
		sample, err := b.psql(ctx)
		if err == nil {
			err = b.removeCSV()
		}
		return sample, nil, err
	case pipelineLegacy:
		parts, err := b.legacy(ctx, round)
		if err != nil {
			return Sample{}, nil, err
		}
		return sum(parts...), parts, nil
	default:
		sample, err := b.batchport(ctx, round)
		return sample, nil, err
	}
}

// measureMemory runs batchport at a tenth of the rows and at all of them,
// twice each, and keeps the highest peak RSS of each.
func measureMemory(ctx context.Context, env *stackEnv, opts options, rows int64) (*Memory, error) {
	fmt.Println("== memory: batchport at a tenth of the rows and at all of them")
	memory := &Memory{SmallRows: rows / 10, LargeRows: rows}
	for _, size := range []struct {
		rows int64
		peak *int64
	}{{rows / 10, &memory.SmallPeakRSSKiB}, {rows, &memory.LargePeakRSSKiB}} {
		b, err := newBench(ctx, env, opts, fmt.Sprintf("%s order by aid limit %d", benchQuery, size.rows))
		if err != nil {
			return nil, err
		}
		if err := b.warmUp(ctx); err != nil {
			return nil, err
		}
		for round := range 2 {
			sample, err := b.batchport(ctx, 100+round)
			if err != nil {
				return nil, err
			}
			*size.peak = max(*size.peak, sample.PeakRSSKiB)
		}
	}
	return memory, nil
}
