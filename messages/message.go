package messages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Version is the message version that this package reads and writes.
const Version = 1

// MaxBodyBytes is the maximum size of a message body in bytes (256 KiB).
const MaxBodyBytes = 256 * 1024

// Length limits of the text fields, counted in Unicode code points as JSON
// Schema's maxLength counts them.
const (
	MaxRunKeyChars      = 512
	MaxRequestedByChars = 256
)

// ErrInvalid is wrapped by every error that Decode, Encode and Validate
// return for bad input. Such a message can never succeed, so a worker should
// not retry it.
var ErrInvalid = errors.New("invalid message")

// jobPattern is the rule for job names, which are also catalog folder names.
var jobPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Message is the job message, version 1.
type Message struct {
	// Version is the message format version. It must be 1.
	Version int `json:"version"`
	// Job is the name of a job in the catalog.
	Job string `json:"job"`
	// RunKey is the deduplication key of the run. Empty means the job's
	// default key.
	RunKey string `json:"run_key,omitempty"`
	// ScheduledFor is the logical time of the run. Decode sets it to the
	// event time for an EventBridge event. Nil means that the worker uses
	// the time it receives the message.
	ScheduledFor *time.Time `json:"scheduled_for,omitempty"`
	// Params are the job parameters as compact JSON values. The job catalog
	// checks their names and types.
	Params map[string]json.RawMessage `json:"params,omitempty"`
	// RequestedBy is free text for the log and the run ledger, such as
	// "manual:alice" or "scheduler:<execution id>".
	RequestedBy string `json:"requested_by,omitempty"`
}

// Validate checks every field of m against the version 1 rules. The error
// wraps ErrInvalid and names the field.
func (m Message) Validate() error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// Encode validates m and returns its JSON body, with fields in struct order
// and map keys sorted. HTML characters are not escaped, so the parameter
// values that Decode returned are written back unchanged.
func Encode(m Message) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	encoder := json.NewEncoder(&buf)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(m); err != nil {
		return nil, fmt.Errorf("encoding message: %w", err)
	}

	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("%w: encoded body is %d bytes, max %d", ErrInvalid, len(body), MaxBodyBytes)
	}
	return body, nil
}

func (m Message) validate() error {
	switch {
	case m.Version == 0:
		return fmt.Errorf(`missing "version" (set it to %d)`, Version)
	case m.Version != Version:
		return fmt.Errorf("unsupported version %d, expected %d", m.Version, Version)
	}

	if err := validateJob(m.Job); err != nil {
		return err
	}
	if err := validateRunKey(m.RunKey); err != nil {
		return err
	}
	if err := validateScheduledFor(m.ScheduledFor); err != nil {
		return err
	}
	if err := validateParams(m.Params); err != nil {
		return err
	}
	return validateRequestedBy(m.RequestedBy)
}

func validateJob(job string) error {
	if job == "" {
		return errors.New(`missing "job"`)
	}
	if !jobPattern.MatchString(job) {
		return fmt.Errorf(`invalid "job" %s: a job name is 1 to 63 characters of a-z, 0-9 and "-", and starts with a letter or digit`, quote(job))
	}
	return nil
}

// validateRunKey accepts an empty key, which means that the field is absent.
func validateRunKey(key string) error {
	if key == "" {
		return nil
	}
	if err := checkText("run_key", key, MaxRunKeyChars); err != nil {
		return err
	}
	// A key of spaces looks empty in every listing, and " a" and "a" look the same.
	if strings.TrimSpace(key) != key {
		return fmt.Errorf(`invalid "run_key" %s: it starts or ends with white space`, quote(key))
	}
	for i, r := range []rune(key) {
		if !unicode.IsPrint(r) {
			return fmt.Errorf(`invalid "run_key" %s: character %d (%U) is not printable`, quote(key), i+1, r)
		}
	}
	return nil
}

func validateScheduledFor(t *time.Time) error {
	if t == nil {
		return nil
	}
	if _, err := t.MarshalText(); err != nil {
		return fmt.Errorf(`invalid "scheduled_for": %v`, err)
	}
	return nil
}

func validateParams(params map[string]json.RawMessage) error {
	for name, value := range params {
		if !utf8.ValidString(name) {
			return fmt.Errorf(`invalid "params": name %s is not valid UTF-8`, quote(name))
		}
		if !json.Valid(value) {
			return fmt.Errorf(`invalid "params": value of %s is not valid JSON`, quote(name))
		}
	}
	return nil
}

func validateRequestedBy(text string) error {
	return checkText("requested_by", text, MaxRequestedByChars)
}

// checkText checks that text is valid UTF-8 of at most maxChars code points
// with no control characters.
func checkText(field, text string, maxChars int) error {
	if !utf8.ValidString(text) {
		return fmt.Errorf("invalid %q: not valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(text); n > maxChars {
		return fmt.Errorf("invalid %q %s: %d characters, max %d", field, quote(text), n, maxChars)
	}
	for i, r := range []rune(text) {
		if unicode.IsControl(r) {
			return fmt.Errorf("invalid %q %s: character %d is the control character %U", field, quote(text), i+1, r)
		}
	}
	return nil
}
