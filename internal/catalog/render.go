package catalog

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"text/template"
	"time"
	"unicode"

	"github.com/batchport/batchport/messages"
)

// Run is a message resolved against its job: every template rendered, every
// parameter checked and filled. It is what a handler executes.
type Run struct {
	Job          *Job
	RunKey       string
	ScheduledFor time.Time // in the job's time zone
	Params       map[string]string
	RequestedBy  string
	// BackupKey is the S3 key of the export (sql-export only).
	BackupKey string
	// Deliveries are the destinations, in job.yaml order, with their remote paths.
	Deliveries []Delivery
}

// Delivery is one destination with its rendered remote path.
type Delivery struct {
	SFTP *SFTPDestination
	// RemotePath is the final path on the server: the destination's dir and rendered name.
	RemotePath string
}

// ErrUnsafeTemplate is wrapped by errors for rendered names and keys that
// could escape their folder or confuse a reader.
var ErrUnsafeTemplate = errors.New("unsafe rendered value")

// templateData is the data that templates in job.yaml can use.
type templateData struct {
	Job          string
	RunKey       string
	ScheduledFor time.Time
	Params       map[string]string
}

const maxRunKeyBytes = 512

// Resolve turns a decoded message into a Run. now is the logical time used
// when the message has no scheduled_for. Errors wrap ErrInvalidParams or
// ErrUnsafeTemplate, or are template errors; all are permanent for this message.
func (j *Job) Resolve(msg messages.Message, now time.Time) (*Run, error) {
	loc, err := j.Location()
	if err != nil {
		return nil, err
	}
	scheduledFor := now
	if msg.ScheduledFor != nil {
		scheduledFor = *msg.ScheduledFor
	}
	data := templateData{Job: j.Name, ScheduledFor: scheduledFor.In(loc), Params: map[string]string{}}

	params, err := j.resolveParams(msg.Params, data)
	if err != nil {
		return nil, err
	}
	data.Params = params

	runKey := msg.RunKey
	if runKey == "" {
		if runKey, err = j.renderRunKey(data); err != nil {
			return nil, err
		}
	} else if err := checkRendered("run_key", runKey, maxRunKeyBytes); err != nil {
		// A given run key can reach templates (backup keys, file names), so it follows the same rules.
		return nil, err
	}
	data.RunKey = runKey

	run := &Run{Job: j, RunKey: runKey, ScheduledFor: data.ScheduledFor, Params: params, RequestedBy: msg.RequestedBy}
	if j.Backup != nil {
		if run.BackupKey, err = renderKey("backup.key", j.Backup.Key, data); err != nil {
			return nil, err
		}
	}
	for i, destination := range j.Deliver {
		if destination.SFTP == nil {
			continue
		}
		field := fmt.Sprintf("deliver[%d].sftp.name", i)
		name, err := renderName(field, destination.SFTP.Name, data)
		if err != nil {
			return nil, err
		}
		run.Deliveries = append(run.Deliveries, Delivery{SFTP: destination.SFTP, RemotePath: path.Join(destination.SFTP.Dir, name)})
	}
	return run, nil
}

func (j *Job) renderRunKey(data templateData) (string, error) {
	if j.RunKey == "" {
		return j.Name + "/" + data.ScheduledFor.Format(time.RFC3339), nil
	}
	key, err := renderTemplate("run_key", j.RunKey, data)
	if err != nil {
		return "", err
	}
	if err := checkRendered("run_key", key, maxRunKeyBytes); err != nil {
		return "", err
	}
	return key, nil
}

func renderKey(field, text string, data templateData) (string, error) {
	key, err := renderTemplate(field, text, data)
	if err != nil {
		return "", err
	}
	if err := checkRendered(field, key, 1024); err != nil {
		return "", err
	}
	if strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") || strings.Contains(key, "//") {
		return "", fmt.Errorf("%s %q: %w: an S3 key may not start or end with / or contain //", field, key, ErrUnsafeTemplate)
	}
	return key, nil
}

func renderName(field, text string, data templateData) (string, error) {
	name, err := renderTemplate(field, text, data)
	if err != nil {
		return "", err
	}
	if err := checkRendered(field, name, 255); err != nil {
		return "", err
	}
	if strings.ContainsAny(name, `/\`) || name == "." {
		return "", fmt.Errorf("%s %q: %w: a file name may not contain / or \\", field, name, ErrUnsafeTemplate)
	}
	return name, nil
}

// checkRendered rejects empty values, "..", control characters and values over max bytes.
func checkRendered(field, value string, max int) error {
	switch {
	case value == "":
		return fmt.Errorf("%s: %w: it renders empty", field, ErrUnsafeTemplate)
	case len(value) > max:
		return fmt.Errorf("%s: %w: it renders %d bytes, max %d", field, ErrUnsafeTemplate, len(value), max)
	case strings.Contains(value, ".."):
		return fmt.Errorf("%s %q: %w: it may not contain \"..\"", field, shorten(value), ErrUnsafeTemplate)
	case slices.Contains(strings.Split(value, "/"), "."):
		// S3 and SFTP servers may drop a "." path segment, so the stored path would differ from the recorded one.
		return fmt.Errorf("%s %q: %w: it may not have a \".\" path segment", field, shorten(value), ErrUnsafeTemplate)
	case strings.ContainsFunc(value, unicode.IsControl):
		return fmt.Errorf("%s %q: %w: it may not contain control characters", field, shorten(value), ErrUnsafeTemplate)
	}
	return nil
}

func renderTemplate(field, text string, data templateData) (string, error) {
	tmpl, err := template.New(field).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("%s: invalid template: %w", field, err)
	}
	var out strings.Builder
	if err := tmpl.Execute(&out, data); err != nil {
		return "", fmt.Errorf("%s: rendering template: %w", field, err)
	}
	return out.String(), nil
}
