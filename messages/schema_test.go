package messages

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileSchema compiles Schema, which also checks it against the draft
// 2020-12 meta-schema.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	document, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	if err != nil {
		t.Fatalf("reading schema.json: %v", err)
	}
	compiler := jsonschema.NewCompiler()
	compiler.AssertFormat()
	if err := compiler.AddResource("schema.json", document); err != nil {
		t.Fatalf("adding schema.json: %v", err)
	}
	schema, err := compiler.Compile("schema.json")
	if err != nil {
		t.Fatalf("compiling schema.json: %v", err)
	}
	return schema
}

// structFields returns the JSON names of Message's fields.
func structFields() []string {
	var names []string
	messageType := reflect.TypeFor[Message]()
	for i := range messageType.NumField() {
		tag := messageType.Field(i).Tag.Get("json")
		names = append(names, strings.Split(tag, ",")[0])
	}
	return names
}

func TestSchemaPropertiesMatchStruct(t *testing.T) {
	var schema struct {
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(Schema, &schema); err != nil {
		t.Fatalf("reading schema.json: %v", err)
	}

	var properties []string
	for name := range schema.Properties {
		properties = append(properties, name)
	}
	fields := structFields()
	slices.Sort(properties)
	slices.Sort(fields)
	if !slices.Equal(properties, fields) {
		t.Errorf("schema properties = %v, Message JSON fields = %v", properties, fields)
	}

	messageFieldsSorted := slices.Sorted(slices.Values(messageFields))
	if !slices.Equal(messageFieldsSorted, fields) {
		t.Errorf("decoder accepts %v, Message JSON fields = %v", messageFieldsSorted, fields)
	}
	if want := []string{"version", "job"}; !slices.Equal(schema.Required, want) {
		t.Errorf("schema required = %v, want %v", schema.Required, want)
	}
}

func TestSchemaAcceptsDecodedMessages(t *testing.T) {
	schema := compileSchema(t)
	for _, tc := range validDecodeCases(t) {
		body, err := Encode(tc.want)
		if err != nil {
			t.Fatalf("%s: Encode: %v", tc.name, err)
		}
		instance, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: reading %s: %v", tc.name, body, err)
		}
		if err := schema.Validate(instance); err != nil {
			t.Errorf("%s: schema rejects %s: %v", tc.name, body, err)
		}
	}
}

func TestSchemaRejectsInvalidMessages(t *testing.T) {
	schema := compileSchema(t)
	names := []string{
		"missing job", "missing version", "version 2", "version as string", "misspelled job",
		"job as number", "job empty", "job upper case", "job 64 characters", "run key empty",
		"run key null", "run key too long", "run key with newline", "scheduled_for not RFC 3339",
		"params array", "params null", "requested_by too long", "requested_by with tab",
	}
	cases := make(map[string]string)
	for _, tc := range invalidDecodeCases() {
		cases[tc.name] = tc.body
	}
	for _, name := range names {
		body, ok := cases[name]
		if !ok {
			t.Fatalf("no invalid case named %q", name)
		}
		instance, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
		if err != nil {
			t.Fatalf("%s: reading %s: %v", name, body, err)
		}
		if err := schema.Validate(instance); err == nil {
			t.Errorf("%s: schema accepts %s, but Decode rejects it", name, body)
		}
	}
}
