package messages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxQuotedChars is how many characters of a value an error message quotes.
const maxQuotedChars = 64

// object is a JSON object split into its members, with names in input order.
type object struct {
	names  []string
	values map[string]json.RawMessage
}

func (o object) has(name string) bool {
	_, ok := o.values[name]
	return ok
}

// parseObject splits data, which must be exactly one JSON object, into its
// members. Unlike encoding/json it rejects duplicate names and matches names
// case-sensitively, so {"job":"a","job":"b"} and {"JOB":"a"} are errors.
func parseObject(data []byte) (object, error) {
	decoder := json.NewDecoder(bytes.NewReader(data))
	token, err := decoder.Token()
	if err != nil {
		return object{}, syntaxError(data, err)
	}
	if delim, ok := token.(json.Delim); !ok || delim != '{' {
		return object{}, fmt.Errorf("body is %s, expected a JSON object", tokenKind(token))
	}

	obj := object{values: make(map[string]json.RawMessage)}
	for decoder.More() {
		token, err := decoder.Token()
		if err != nil {
			return object{}, syntaxError(data, err)
		}
		name := token.(string) // inside an object, the decoder returns names as strings

		var value json.RawMessage
		if err := decoder.Decode(&value); err != nil {
			return object{}, syntaxError(data, err)
		}
		if obj.has(name) {
			return object{}, fmt.Errorf("duplicate field %s", quote(name))
		}
		obj.names = append(obj.names, name)
		obj.values[name] = value
	}
	if _, err := decoder.Token(); err != nil {
		return object{}, syntaxError(data, err)
	}

	rest := bytes.TrimLeft(data[decoder.InputOffset():], " \t\r\n")
	if len(rest) > 0 {
		return object{}, fmt.Errorf("unexpected data after the JSON object at offset %d", len(data)-len(rest))
	}
	return obj, nil
}

// syntaxError describes why data is not JSON. The offsets of json.Decoder
// errors are not reliable in the middle of a stream, so it checks data again
// with json.Unmarshal, whose syntax errors carry the exact offset.
func syntaxError(data []byte, err error) error {
	var raw json.RawMessage
	if checkErr := json.Unmarshal(data, &raw); checkErr != nil {
		err = checkErr
	}

	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax) && strings.HasPrefix(syntax.Error(), "unexpected end"):
		return fmt.Errorf("not JSON: unexpected end of input at offset %d", syntax.Offset)
	case errors.As(err, &syntax):
		// Offset counts the bytes read, the last of which is the bad one.
		return fmt.Errorf("not JSON: %v (at offset %d)", syntax, max(syntax.Offset-1, 0))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("not JSON: unexpected end of input")
	default:
		return fmt.Errorf("not JSON: %w", err)
	}
}

// tokenKind names the JSON type of a token from json.Decoder.Token.
func tokenKind(token json.Token) string {
	switch token := token.(type) {
	case json.Delim:
		if token == '[' {
			return "a JSON array"
		}
		return "a JSON object"
	case string:
		return "a JSON string"
	case float64, json.Number:
		return "a JSON number"
	case bool:
		return "a JSON boolean"
	default:
		return "JSON null"
	}
}

// kindOf returns the JSON type of a valid raw value: "object", "array",
// "string", "number", "boolean" or "null".
func kindOf(raw json.RawMessage) string {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 {
		return "nothing"
	}
	switch trimmed[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// describe names the type of raw and shows a short form of its value, for
// errors such as `"job" must be a string, found number 12`.
func describe(raw json.RawMessage) string {
	switch kind := kindOf(raw); kind {
	case "object":
		return "an object"
	case "array":
		return "an array"
	case "string":
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return "a string"
		}
		return "string " + quote(text)
	case "null":
		return "null"
	default:
		return kind + " " + truncate(string(bytes.TrimSpace(raw)))
	}
}

// quote returns text as a Go string literal, cut to maxQuotedChars
// characters so that an error never echoes a large value.
func quote(text string) string {
	return strconv.Quote(truncate(text))
}

func truncate(text string) string {
	if utf8.RuneCountInString(text) <= maxQuotedChars {
		return text
	}
	runes := []rune(text)
	return string(runes[:maxQuotedChars]) + "…"
}

// joinQuoted formats names as `"a"`, `"a" and "b"` or `"a", "b" and "c"`.
func joinQuoted(names []string) string {
	quoted := make([]string, len(names))
	for i, name := range names {
		quoted[i] = strconv.Quote(name)
	}
	if len(quoted) == 1 {
		return quoted[0]
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1]
}
