// Command batchport runs cron batches as queue-driven jobs; see `batchport --help`.
package main

import (
	"context"
	"os"

	"github.com/batchport/batchport/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.Streams{Out: os.Stdout, Err: os.Stderr}))
}
