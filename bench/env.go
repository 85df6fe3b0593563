package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5"
)

// stackEnv is the part of the local stack's env file that the benchmark uses.
type stackEnv struct {
	databaseURL string // the stack's demo database; the bench database sits beside it
	benchURL    string
	bucket      string
	s3Endpoint  string
	sftpPort    string
	sftpRoot    string
	key         string
	knownHosts  string
}

func loadEnv() (*stackEnv, error) {
	names := []string{"DATABASE_URL", "BATCHPORT_BACKUP_BUCKET", "AWS_ENDPOINT_URL_S3", "BATCHPORT_SFTP_ROOT",
		"PARTNER_SFTP_KEY", "PARTNER_SFTP_KNOWN_HOSTS", "BATCHPORT_QUEUE_URL"}
	for _, name := range names {
		if os.Getenv(name) == "" {
			return nil, fmt.Errorf("%s is not set: run make bench, which starts the stack and loads its env file", name)
		}
	}
	u, err := url.Parse(os.Getenv("DATABASE_URL"))
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL is not a URL")
	}
	u.Path = "/batchport_bench"
	port := os.Getenv("BATCHPORT_SFTP_PORT")
	if port == "" {
		port = "2222"
	}
	return &stackEnv{
		databaseURL: os.Getenv("DATABASE_URL"),
		benchURL:    u.String(),
		bucket:      os.Getenv("BATCHPORT_BACKUP_BUCKET"),
		s3Endpoint:  os.Getenv("AWS_ENDPOINT_URL_S3"),
		sftpPort:    port,
		sftpRoot:    os.Getenv("BATCHPORT_SFTP_ROOT"),
		key:         os.Getenv("PARTNER_SFTP_KEY"),
		knownHosts:  os.Getenv("PARTNER_SFTP_KNOWN_HOSTS"),
	}, nil
}

// ensurePgbench loads pgbench_accounts at scale into batchport_bench,
// unless it is there already, and returns its row count.
func ensurePgbench(ctx context.Context, env *stackEnv, scale int) (int64, error) {
	want := int64(scale) * 100_000
	admin, err := pgx.Connect(ctx, env.databaseURL)
	if err != nil {
		return 0, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer admin.Close(ctx)
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'batchport_bench')").Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		if _, err := admin.Exec(ctx, "CREATE DATABASE batchport_bench"); err != nil {
			return 0, fmt.Errorf("creating batchport_bench: %w", err)
		}
	}
	if rows := countAccounts(ctx, env.benchURL); rows == want {
		return rows, nil
	}
	fmt.Printf("loading with pgbench -i -s %d (about 10 s at scale 50)\n", scale)
	cmd := exec.CommandContext(ctx, "pgbench", "-i", "-q", "-s", fmt.Sprint(scale), env.benchURL)
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("pgbench -i: %w: %s", err, out)
	}
	rows := countAccounts(ctx, env.benchURL)
	if rows != want {
		return 0, fmt.Errorf("pgbench_accounts has %d rows after loading, want %d", rows, want)
	}
	return rows, nil
}

func countAccounts(ctx context.Context, benchURL string) int64 {
	conn, err := pgx.Connect(ctx, benchURL)
	if err != nil {
		return -1
	}
	defer conn.Close(ctx)
	var rows int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pgbench_accounts").Scan(&rows); err != nil {
		return -1
	}
	return rows
}

func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(out))
	if status, _ := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); len(status) > 0 {
		commit += "-modified"
	}
	return commit
}

func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if name, ok := strings.CutPrefix(line, "model name\t: "); ok {
				model = name
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s/%s", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
}
