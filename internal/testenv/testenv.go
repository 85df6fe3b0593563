// Package testenv gives integration tests their own resources on the local
// stack (deploy/local): a database, a queue pair, a bucket, an SFTP folder.
// Tests read the stack's addresses from the environment that `make test`
// loads from the stack's env file.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// Env is the local stack's settings, from the environment.
type Env struct {
	DatabaseURL    string // the demo database
	SFTPRoot       string // the partner's chroot on disk
	SFTPAddress    string
	SFTPKey        string
	SFTPKnownHosts string
	State          string // the stack's state folder
}

var required = []string{
	"DATABASE_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3", "BATCHPORT_BACKUP_BUCKET",
	"PARTNER_SFTP_KEY", "PARTNER_SFTP_KNOWN_HOSTS", "BATCHPORT_SFTP_ROOT", "BATCHPORT_LOCAL_STATE",
}

// Require returns the stack's settings. Without them, the test is skipped,
// unless CI is set: there a missing stack is a failure, so that CI cannot
// pass by skipping. -short skips too.
func Require(t testing.TB) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the local stack (run make test)")
	}
	var missing []string
	for _, name := range required {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		message := "integration test: the local stack's environment is missing " + strings.Join(missing, ", ") + " (run make test, which starts the stack and loads its env file)"
		if os.Getenv("CI") != "" {
			t.Fatal(message)
		}
		t.Skip(message)
	}
	port := os.Getenv("BATCHPORT_SFTP_PORT")
	if port == "" {
		port = "2222"
	}
	return &Env{
		DatabaseURL:    os.Getenv("DATABASE_URL"),
		SFTPRoot:       os.Getenv("BATCHPORT_SFTP_ROOT"),
		SFTPAddress:    "127.0.0.1:" + port,
		SFTPKey:        os.Getenv("PARTNER_SFTP_KEY"),
		SFTPKnownHosts: os.Getenv("PARTNER_SFTP_KNOWN_HOSTS"),
		State:          os.Getenv("BATCHPORT_LOCAL_STATE"),
	}
}

// UniqueName returns prefix with a random suffix, in [a-z0-9-], for names
// of queues, buckets, databases and folders that tests create.
func UniqueName(prefix string) string {
	random := make([]byte, 5)
	_, _ = rand.Read(random)
	return prefix + "-" + hex.EncodeToString(random)
}

// Context returns a context cancelled when the test ends.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}
