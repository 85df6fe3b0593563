// Command bench measures batchport against the tools it replaces, on the
// local stack: PostgreSQL's own COPY (psql \copy to a file, the limit), the
// legacy pipeline (psql \copy, then aws s3 cp, then sftp put), and
// `batchport run` of the same export to S3 and SFTP. It also measures peak
// memory at two export sizes and the worker's dispatch rate against a bare
// SDK loop. Run it with `make bench`; it prints a table and writes JSON.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

type options struct {
	binary       string
	runs         int
	scale        int
	out          string
	work         string
	dispatch     int
	dispatchOnly bool
}

func main() {
	var opts options
	flag.StringVar(&opts.binary, "batchport", "bin/batchport", "the batchport binary to measure")
	flag.IntVar(&opts.runs, "runs", 5, "measured runs of each pipeline")
	flag.IntVar(&opts.scale, "scale", 50, "pgbench scale: 100,000 rows per unit")
	flag.StringVar(&opts.out, "out", "", "JSON results file (default: bin/bench-TIME.json)")
	flag.StringVar(&opts.work, "work", "/var/tmp/batchport-bench", "folder for the legacy pipeline's CSV file")
	flag.IntVar(&opts.dispatch, "dispatch", 2000, "messages in the dispatch benchmark (0 skips it)")
	flag.BoolVar(&opts.dispatchOnly, "dispatch-only", false, "run only the dispatch benchmark")
	flag.Parse()
	if opts.out == "" {
		opts.out = filepath.Join("bin", "bench-"+time.Now().UTC().Format("20060102T150405Z")+".json")
	}
	if err := run(context.Background(), opts); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts options) error {
	env, err := loadEnv()
	if err != nil {
		return err
	}
	if opts.dispatchOnly {
		d, err := measureDispatch(ctx, opts.dispatch)
		if err != nil {
			return err
		}
		(&Results{Dispatch: d}).printDispatch(os.Stdout)
		return nil
	}
	if err := os.MkdirAll(opts.work, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(opts.work)
	fmt.Printf("== data: pgbench_accounts at scale %d\n", opts.scale)
	rows, err := ensurePgbench(ctx, env, opts.scale)
	if err != nil {
		return err
	}
	results := &Results{Commit: commit(), Machine: machine(), Rows: rows, Runs: opts.runs, Time: time.Now().UTC()}

	pipelines, err := measurePipelines(ctx, env, opts, rows)
	if err != nil {
		return err
	}
	results.Pipelines = pipelines
	if results.Memory, err = measureMemory(ctx, env, opts, rows); err != nil {
		return err
	}
	if opts.dispatch > 0 {
		if results.Dispatch, err = measureDispatch(ctx, opts.dispatch); err != nil {
			return err
		}
	}
	results.computeRatios()
	results.print(os.Stdout)

	if err := os.MkdirAll(filepath.Dir(opts.out), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(opts.out, append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nresults written to %s\n", opts.out)
	return nil
}
