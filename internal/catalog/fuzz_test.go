package catalog

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadJob feeds arbitrary bytes to the job.yaml decoder. LoadJob must
// return a job or an error and never panic, and a job it returns must have
// the folder's name.
func FuzzLoadJob(f *testing.F) {
	f.Add([]byte(validJobYAML))
	f.Add([]byte(withName(validJobYAML, "fuzz-job")))
	f.Add([]byte("name: fuzz-job\n"))
	f.Add([]byte("name: fuzz-job\ntimeout: {a: 1}\n"))
	f.Add([]byte("name: fuzz-job\nparams: {date: {type: date, default: \"{{.Job}}\"}}\n"))
	f.Add([]byte("name: fuzz-job\ndeliver: [{sftp: {address: [1, 2]}}]\n"))
	f.Add([]byte("name: &a fuzz-job\nowner: *a\n"))
	f.Add([]byte("--- \n...\n"))
	f.Add([]byte(""))
	f.Add([]byte("\xff\xfe"))
	if sample, err := os.ReadFile(filepath.Join("..", "..", "jobs", "partner-daily-orders", jobFile)); err == nil {
		f.Add(sample)
	}

	// One folder serves every input, because a fuzz worker runs inputs one
	// at a time and a fresh folder per input slows minimization down.
	dir := filepath.Join(f.TempDir(), "fuzz-job")
	if err := os.Mkdir(dir, 0o755); err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, jobFile), data, 0o644); err != nil {
			t.Fatal(err)
		}

		job, err := LoadJob(dir)
		if err != nil {
			return
		}
		if job.Name != "fuzz-job" {
			t.Errorf("LoadJob returned a job named %q from folder fuzz-job", job.Name)
		}
		// Validate runs the templates and the schedule parser on the decoded
		// values, so it must not panic on them either.
		_ = job.Validate(validateNow)
	})
}
