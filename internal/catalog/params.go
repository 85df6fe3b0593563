package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Param declares one parameter of a job.
type Param struct {
	// Type is string, date (YYYY-MM-DD), integer or boolean. Default: string.
	Type string `yaml:"type"`
	// Required makes a message without this parameter invalid.
	Required bool `yaml:"required"`
	// Default is a template rendered when the message leaves the parameter out.
	Default string `yaml:"default"`
	// Description is the meaning of the parameter, for people.
	Description string `yaml:"description"`
}

// ErrInvalidParams is wrapped by every parameter error, so callers can treat
// them as permanent failures.
var ErrInvalidParams = errors.New("invalid params")

var paramNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

const maxParamBytes = 4096

func (p Param) typeName() string {
	if p.Type == "" {
		return "string"
	}
	return p.Type
}

// normalize returns the parameter's text form, as SQL reads it through
// current_setting. A JSON string is accepted for every type, so that values
// typed on a command line and values in JSON mean the same.
func (p Param) normalize(raw json.RawMessage) (string, error) {
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		switch p.typeName() {
		case "integer", "boolean":
			text = strings.TrimSpace(string(raw))
		default:
			return "", fmt.Errorf("must be a JSON string, got %s", shorten(string(raw)))
		}
	}
	return p.check(text)
}

func (p Param) check(text string) (string, error) {
	if len(text) > maxParamBytes {
		return "", fmt.Errorf("is %d bytes, max %d", len(text), maxParamBytes)
	}
	if strings.ContainsFunc(text, func(r rune) bool { return r == 0 || (unicode.IsControl(r) && r != '\t') }) {
		return "", errors.New("contains control characters")
	}
	switch p.typeName() {
	case "string":
		return text, nil
	case "date":
		if _, err := time.Parse(time.DateOnly, text); err != nil {
			return "", fmt.Errorf("%s is not a date: use YYYY-MM-DD", shorten(strconv.Quote(text)))
		}
		return text, nil
	case "integer":
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return "", fmt.Errorf("%s is not an integer", shorten(strconv.Quote(text)))
		}
		return strconv.FormatInt(n, 10), nil
	case "boolean":
		b, err := strconv.ParseBool(text)
		if err != nil {
			return "", fmt.Errorf("%s is not a boolean: use true or false", shorten(strconv.Quote(text)))
		}
		return strconv.FormatBool(b), nil
	}
	return "", fmt.Errorf("has unknown type %q", p.Type)
}

func (p Param) validate(name string) error {
	if !paramNamePattern.MatchString(name) {
		return fmt.Errorf("params: name %q is invalid: use a-z, 0-9 and _, starting with a letter", name)
	}
	switch p.typeName() {
	case "string", "date", "integer", "boolean":
	default:
		return fmt.Errorf("params.%s: type %q is invalid: use string, date, integer or boolean", name, p.Type)
	}
	if p.Required && p.Default != "" {
		return fmt.Errorf("params.%s: required and default exclude each other: drop one", name)
	}
	return nil
}

// resolveParams checks the message's params against the job's declaration
// and fills defaults, rendered with data. Every problem is reported at once.
func (j *Job) resolveParams(given map[string]json.RawMessage, data templateData) (map[string]string, error) {
	resolved := map[string]string{}
	var errs []error
	for _, name := range sortedKeys(given) {
		spec, ok := j.Params[name]
		if !ok {
			errs = append(errs, fmt.Errorf("unknown param %q (job %s declares: %s)", name, j.Name, j.paramList()))
			continue
		}
		value, err := spec.normalize(given[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("param %q %w", name, err))
			continue
		}
		resolved[name] = value
	}
	for _, name := range sortedKeys(j.Params) {
		spec := j.Params[name]
		if _, ok := given[name]; ok {
			continue
		}
		if spec.Required {
			errs = append(errs, fmt.Errorf("missing required param %q (%s)", name, spec.typeName()))
			continue
		}
		if spec.Default == "" {
			continue
		}
		text, err := renderTemplate("params."+name+".default", spec.Default, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		value, err := spec.check(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("param %q default %w", name, err))
			continue
		}
		resolved[name] = value
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	return resolved, nil
}

func (j *Job) paramList() string {
	if len(j.Params) == 0 {
		return "none"
	}
	return strings.Join(sortedKeys(j.Params), ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

func shorten(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
