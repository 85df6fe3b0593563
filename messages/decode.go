package messages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// messageFields are the top-level fields of a version 1 message, in the
// order that errors list them.
var messageFields = []string{"version", "job", "run_key", "scheduled_for", "params", "requested_by"}

// Decode parses a queue message body in any accepted shape and validates it.
// The error wraps ErrInvalid and names the field and the rule it breaks. For
// an EventBridge event it also names the part that is wrong, the envelope or
// its detail.
func Decode(body []byte) (Message, error) {
	m, err := decodeBody(body)
	if err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return m, nil
}

func decodeBody(body []byte) (Message, error) {
	if len(body) > MaxBodyBytes {
		return Message{}, fmt.Errorf("body is %d bytes, max %d", len(body), MaxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return Message{}, errors.New("body is empty")
	}
	if !utf8.Valid(body) {
		return Message{}, fmt.Errorf("body is not valid UTF-8 (first invalid byte at offset %d)", invalidUTF8Offset(body))
	}

	obj, err := parseObject(body)
	if err != nil {
		return Message{}, err
	}
	if looksLikeEvent(obj) {
		return decodeEvent(obj)
	}
	return decodeMessage(obj)
}

// decodeMessage reads the message fields of obj. It reports missing required
// fields first, then an unsupported version, so that a message of a later
// version gets a version error rather than a list of unknown fields.
func decodeMessage(obj object) (Message, error) {
	var missing []string
	for _, name := range []string{"job", "version"} {
		if !obj.has(name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return Message{}, fmt.Errorf("missing %s", joinQuoted(missing))
	}
	if err := checkVersion(obj.values["version"]); err != nil {
		return Message{}, err
	}
	if err := checkFieldNames(obj, messageFields); err != nil {
		return Message{}, err
	}

	m := Message{Version: Version}
	if err := decodeFields(obj, &m); err != nil {
		return Message{}, err
	}
	if err := m.validate(); err != nil {
		return Message{}, err
	}
	return m, nil
}

func decodeFields(obj object, m *Message) error {
	var err error
	if m.Job, err = stringField(obj, "job"); err != nil {
		return err
	}
	if m.Job == "" {
		return errors.New(`"job" is empty`)
	}
	if m.RunKey, err = stringField(obj, "run_key"); err != nil {
		return err
	}
	if obj.has("run_key") && m.RunKey == "" {
		return errors.New(`"run_key" is empty (leave the field out to use the job's default key)`)
	}
	if m.ScheduledFor, err = timeField(obj, "scheduled_for"); err != nil {
		return err
	}
	if m.Params, err = paramsField(obj); err != nil {
		return err
	}
	m.RequestedBy, err = stringField(obj, "requested_by")
	return err
}

// checkVersion accepts any JSON number equal to 1, such as 1 or 1.0, as JSON
// Schema's "const": 1 does.
func checkVersion(raw json.RawMessage) error {
	if kindOf(raw) != "number" {
		return fmt.Errorf(`"version" must be the number %d, found %s`, Version, describe(raw))
	}
	value, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || value != Version {
		return fmt.Errorf("unsupported version %s, expected %d", truncate(string(raw)), Version)
	}
	return nil
}

// checkFieldNames returns an error for the first name of obj that is not in
// allowed.
func checkFieldNames(obj object, allowed []string) error {
	for _, name := range obj.names {
		if !slices.Contains(allowed, name) {
			return fmt.Errorf("unknown field %s (allowed: %s)", quote(name), joinQuoted(allowed))
		}
	}
	return nil
}

// stringField returns the named string member of obj, or "" when it is
// absent. A null value is an error, because it is more likely a mistake than
// a way to leave the field out.
func stringField(obj object, name string) (string, error) {
	raw, ok := obj.values[name]
	if !ok {
		return "", nil
	}
	if kindOf(raw) != "string" {
		return "", fmt.Errorf("%q must be a string, found %s", name, describe(raw))
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return "", fmt.Errorf("reading %q: %w", name, err)
	}
	return text, nil
}

func timeField(obj object, name string) (*time.Time, error) {
	text, err := stringField(obj, name)
	if err != nil || !obj.has(name) {
		return nil, err
	}
	t, err := time.Parse(time.RFC3339, text)
	if err != nil {
		return nil, fmt.Errorf("invalid %q %s: expected an RFC 3339 time such as 2026-12-24T03:30:00+09:00", name, quote(text))
	}
	return &t, nil
}

// paramsField returns the params object with each value in compact form, so
// that equal values compare equal byte for byte. An empty object is nil.
func paramsField(obj object) (map[string]json.RawMessage, error) {
	raw, ok := obj.values["params"]
	if !ok {
		return nil, nil
	}
	if kindOf(raw) != "object" {
		return nil, fmt.Errorf(`"params" must be a JSON object, found %s`, describe(raw))
	}
	members, err := parseObject(raw)
	if err != nil {
		return nil, fmt.Errorf(`reading "params": %w`, err)
	}
	if len(members.names) == 0 {
		return nil, nil
	}

	params := make(map[string]json.RawMessage, len(members.names))
	for _, name := range members.names {
		var compact bytes.Buffer
		if err := json.Compact(&compact, members.values[name]); err != nil {
			return nil, fmt.Errorf(`reading "params" value %s: %w`, quote(name), err)
		}
		params[name] = compact.Bytes()
	}
	return params, nil
}

func invalidUTF8Offset(data []byte) int {
	for offset := 0; offset < len(data); {
		r, size := utf8.DecodeRune(data[offset:])
		if r == utf8.RuneError && size <= 1 {
			return offset
		}
		offset += size
	}
	return len(data)
}
