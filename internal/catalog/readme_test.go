package catalog_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batchport/batchport/internal/catalog"
)

// The job.yaml example in the README is what people copy, so it must load.
func TestReadmeJobExampleLoads(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, found := strings.Cut(string(readme), "```yaml\n")
	if !found {
		t.Fatal("README.md has no yaml block")
	}
	example, _, found := strings.Cut(rest, "```")
	if !found {
		t.Fatal("README.md's yaml block does not end")
	}

	dir := filepath.Join(t.TempDir(), "partner-daily-orders")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "job.yaml"), []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "query.sql"), []byte("select 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.LoadJob(dir); err != nil {
		t.Fatalf("the README's job.yaml example does not load: %v", err)
	}
}
