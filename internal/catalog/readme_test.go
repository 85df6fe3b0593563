package catalog_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchport/batchport/internal/catalog"
)

// The job.yaml example in the README is what people copy, so it must be
// valid once its placeholders are filled in.
func TestReadmeJobExampleLoads(t *testing.T) {
	example := readmeExample(t, "README.md")

	// The example's runbook values are "..." for the reader to fill in,
	// which validation rejects, so they are filled here.
	filled := strings.ReplaceAll(example, ": ...", ": text for the on-call engineer")
	for _, tc := range []struct {
		name      string
		yaml      string
		wantValid bool
	}{{"as printed", example, false}, {"filled in", filled, true}} {
		root := t.TempDir()
		dir := filepath.Join(root, "partner-daily-orders")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "job.yaml"), []byte(tc.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "query.sql"), []byte("select 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := catalog.Load(root)
		if err != nil {
			t.Fatalf("%s: loading the README's example: %v", tc.name, err)
		}
		c.Validate(time.Now(), nil)
		problem := c.Problems()["partner-daily-orders"]
		if tc.wantValid && problem != nil {
			t.Errorf("%s: the README's job.yaml example is invalid: %v", tc.name, problem)
		}
		if !tc.wantValid && problem == nil {
			t.Errorf("%s: the example with its \"...\" placeholders passed validation", tc.name)
		}
	}
}

// README.ja.md shows the same job.yaml example as README.md.
func TestReadmeExamplesInStep(t *testing.T) {
	english, japanese := readmeExample(t, "README.md"), readmeExample(t, "README.ja.md")
	if english != japanese {
		t.Errorf("the job.yaml examples of README.md and README.ja.md differ:\n%s\n---\n%s", english, japanese)
	}
}

// readmeExample returns the first yaml block of the named README at the repository's root.
func readmeExample(t *testing.T, name string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, found := strings.Cut(string(readme), "```yaml\n")
	if !found {
		t.Fatalf("%s has no yaml block", name)
	}
	example, _, found := strings.Cut(rest, "```")
	if !found {
		t.Fatalf("%s's yaml block does not end", name)
	}
	return example
}
