// Package catalog loads the job catalog: one folder per job, each with a
// job.yaml and the files it names (such as query.sql).
package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"go.yaml.in/yaml/v3"
)

// Job is one job.yaml, version 1, with its folder.
type Job struct {
	Name        string           `yaml:"name"`
	Description string           `yaml:"description"`
	Owner       string           `yaml:"owner"`
	Runbook     Runbook          `yaml:"runbook"`
	Schedule    *Schedule        `yaml:"schedule"`
	RunKey      string           `yaml:"run_key"`
	Params      map[string]Param `yaml:"params"`
	Timeout     Duration         `yaml:"timeout"`
	Handler     string           `yaml:"handler"`
	Export      *Export          `yaml:"export"`
	CSV         CSV              `yaml:"csv"`
	Backup      *Backup          `yaml:"backup"`
	Deliver     []Destination    `yaml:"deliver"`

	// Dir is the job's folder; relative file names in job.yaml are resolved against it.
	Dir string `yaml:"-"`
}

// Runbook is the knowledge an on-call engineer needs about a job before touching it.
type Runbook struct {
	Why             string `yaml:"why"`
	ImpactIfStopped string `yaml:"impact_if_stopped"`
	SwitchBack      string `yaml:"switch_back"`
}

// Schedule is when EventBridge Scheduler fires the job.
type Schedule struct {
	Expression string `yaml:"expression"`
	Timezone   string `yaml:"timezone"`
}

// Export is the SQL side of the sql-export handler.
type Export struct {
	// Query is the SQL file, relative to the job's folder.
	Query string `yaml:"query"`
	// DatabaseEnv names the environment variable with the source's URL. Default: DATABASE_URL.
	DatabaseEnv string `yaml:"database_env"`
	// Timezone is the session TimeZone, which sets how timestamptz values print.
	// Default: the schedule's time zone, else UTC.
	Timezone string `yaml:"timezone"`
}

// Backup is the export's location in S3.
type Backup struct {
	// Key is a template for the object key.
	Key string `yaml:"key"`
}

// Destination is one place the export is delivered to.
type Destination struct {
	SFTP *SFTPDestination `yaml:"sftp"`
}

// SFTPDestination is a partner's SFTP server. Secrets are named by
// environment variable, never written in job.yaml.
type SFTPDestination struct {
	Address       string `yaml:"address"`
	User          string `yaml:"user"`
	PrivateKeyEnv string `yaml:"private_key_env"`
	KnownHostsEnv string `yaml:"known_hosts_env"`
	Dir           string `yaml:"dir"`
	// Name is a template for the remote file name.
	Name string `yaml:"name"`
}

// Duration is a time.Duration written as a Go duration string ("30m").
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(node *yaml.Node) error {
	parsed, err := time.ParseDuration(node.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q: use a form such as 90s, 30m or 2h", node.Line, node.Value)
	}
	*d = Duration(parsed)
	return nil
}

const jobFile = "job.yaml"

var jobNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Catalog is every job of a catalog folder, by name. A job that does not
// load or validate is kept aside with its error, so one broken folder does
// not stop the others, and a message for it fails with that error.
type Catalog struct {
	Dir     string
	jobs    map[string]*Job
	invalid map[string]error
}

// Load reads every jobs/<name>/job.yaml below dir. A folder without a
// job.yaml is skipped. A job.yaml that does not parse is set aside (see
// Problems); Load fails only when dir cannot be read.
func Load(dir string) (*Catalog, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading job catalog: %w", err)
	}
	c := &Catalog{Dir: dir, jobs: map[string]*Job{}, invalid: map[string]error{}}
	for _, entry := range entries {
		if !entry.IsDir() {
			continue
		}
		path := filepath.Join(dir, entry.Name(), jobFile)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			continue
		}
		job, err := LoadJob(filepath.Join(dir, entry.Name()))
		if err != nil {
			c.invalid[entry.Name()] = err
			continue
		}
		c.jobs[job.Name] = job
	}
	return c, nil
}

// Validate checks every loaded job with Job.Validate and then with check
// (the handler's own checks; may be nil), and sets aside those that fail.
func (c *Catalog) Validate(now time.Time, check func(*Job) error) {
	for name, job := range c.jobs {
		err := job.Validate(now)
		if err == nil && check != nil {
			err = check(job)
		}
		if err != nil {
			c.invalid[name] = err
			delete(c.jobs, name)
		}
	}
}

// Problems returns the jobs set aside, by folder name, with their errors.
func (c *Catalog) Problems() map[string]error {
	return c.invalid
}

// LoadJob reads one job folder's job.yaml. Unknown keys are an error, so a
// typo does not silently drop a setting.
func LoadJob(dir string) (*Job, error) {
	path := filepath.Join(dir, jobFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading job: %w", err)
	}
	decoder := yaml.NewDecoder(bytes.NewReader(data))
	decoder.KnownFields(true)
	var job Job
	if err := decoder.Decode(&job); errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s is empty: write the job's settings, starting with name", path)
	} else if err != nil {
		return nil, fmt.Errorf("%s: %s", path, explainYAMLError(err))
	}
	// A second document would be ignored, unknown keys and all.
	switch err := decoder.Decode(new(yaml.Node)); {
	case err == nil:
		return nil, fmt.Errorf("%s: more than one YAML document: put every setting in one document, without a --- line", path)
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	job.Dir = dir
	if folder := filepath.Base(dir); job.Name != folder {
		return nil, fmt.Errorf("%s: name %q must equal the folder name %q", path, job.Name, folder)
	}
	if !jobNamePattern.MatchString(job.Name) {
		return nil, fmt.Errorf("%s: name %q is invalid: use a-z, 0-9 and -, at most 63 characters", path, job.Name)
	}
	return &job, nil
}

// Job returns the job called name. For a job that was set aside, the
// error wraps ErrInvalidJob and gives the reason.
func (c *Catalog) Job(name string) (*Job, error) {
	if err, ok := c.invalid[name]; ok {
		return nil, fmt.Errorf("job %q: %w: %w", name, ErrInvalidJob, err)
	}
	job, ok := c.jobs[name]
	if !ok {
		return nil, fmt.Errorf("job %q: %w in %s", name, ErrUnknownJob, c.Dir)
	}
	return job, nil
}

// ErrInvalidJob is wrapped by Job's error for a job whose job.yaml does not
// load or validate; fixing the folder and restarting the worker fixes it.
var ErrInvalidJob = errors.New("invalid in the job catalog (see batchport jobs validate)")

// ErrUnknownJob is returned for a job name the catalog does not have.
var ErrUnknownJob = errors.New("not found in the job catalog")

// Jobs returns every job, sorted by name.
func (c *Catalog) Jobs() []*Job {
	jobs := make([]*Job, 0, len(c.jobs))
	for _, job := range c.jobs {
		jobs = append(jobs, job)
	}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].Name < jobs[j].Name })
	return jobs
}

// Location returns the schedule's time zone, UTC when none is set.
func (j *Job) Location() (*time.Location, error) {
	if j.Schedule == nil || j.Schedule.Timezone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(j.Schedule.Timezone)
	if err != nil {
		return nil, fmt.Errorf("schedule timezone %q is invalid: use an IANA name such as Asia/Tokyo", j.Schedule.Timezone)
	}
	return loc, nil
}

// QuerySQL reads the export's SQL file.
func (j *Job) QuerySQL() (string, error) {
	if j.Export == nil || j.Export.Query == "" {
		return "", errors.New("export.query is missing")
	}
	data, err := os.ReadFile(filepath.Join(j.Dir, j.Export.Query))
	if err != nil {
		return "", fmt.Errorf("reading export query: %w", err)
	}
	return string(data), nil
}

var unknownFieldPattern = regexp.MustCompile(`field (\S+) not found in type \S+`)

// explainYAMLError rewrites the decoder's "field X not found in type
// catalog.Job" into words about job.yaml rather than Go types.
func explainYAMLError(err error) string {
	return unknownFieldPattern.ReplaceAllString(err.Error(), `unknown key "$1"`)
}
