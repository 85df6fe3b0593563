package messages

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*60*60)
	scheduled := time.Date(2026, 12, 24, 3, 30, 0, 0, tokyo)
	messages := []Message{
		{Version: 1, Job: "a"},
		{
			Version: 1, Job: "partner-daily-orders", RunKey: "partner-daily-orders/2026-12-24",
			ScheduledFor: &scheduled,
			Params:       rawParams(map[string]string{"date": `"2026-12-23"`, "filter": `{"name":"x<y&z"}`}),
			RequestedBy:  "manual:山田",
		},
	}
	for _, want := range messages {
		body, err := Encode(want)
		if err != nil {
			t.Fatalf("Encode(%+v): %v", want, err)
		}
		got, err := Decode(body)
		if err != nil {
			t.Fatalf("Decode(%s): %v", body, err)
		}
		if !messagesEqual(got, want) {
			t.Errorf("round trip of %s = %+v, want %+v", body, got, want)
		}
	}
}

func TestEncodeOutput(t *testing.T) {
	scheduled := time.Date(2026, 12, 24, 18, 30, 0, 0, time.UTC)
	m := Message{
		Version: 1, Job: "a", ScheduledFor: &scheduled,
		Params: rawParams(map[string]string{"b": `[1,2]`, "a": `"x<y"`}),
	}
	body, err := Encode(m)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	want := `{"version":1,"job":"a","scheduled_for":"2026-12-24T18:30:00Z","params":{"a":"x<y","b":[1,2]}}`
	if string(body) != want {
		t.Errorf("Encode = %s\nwant     %s", body, want)
	}
}

func TestEncodeRejectsInvalid(t *testing.T) {
	year10000 := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		message Message
		want    string
	}{
		{"zero version", Message{Job: "a"}, `invalid message: missing "version" (set it to 1)`},
		{"version 2", Message{Version: 2, Job: "a"}, "invalid message: unsupported version 2, expected 1"},
		{"no job", Message{Version: 1}, `invalid message: missing "job"`},
		{"job with slash", Message{Version: 1, Job: "a/b"},
			`invalid message: invalid "job" "a/b": a job name is 1 to 63 characters of a-z, 0-9 and "-", and starts with a letter or digit`},
		{"run key not UTF-8", Message{Version: 1, Job: "a", RunKey: "a\xffb"}, `invalid message: invalid "run_key": not valid UTF-8`},
		{"run key with DEL", Message{Version: 1, Job: "a", RunKey: "a\x7f"},
			`invalid message: invalid "run_key" "a\x7f": character 2 is the control character U+007F`},
		{"scheduled_for year 10000", Message{Version: 1, Job: "a", ScheduledFor: &year10000},
			`invalid message: invalid "scheduled_for": Time.MarshalText: year outside of range [0,9999]`},
		{"param not JSON", Message{Version: 1, Job: "a", Params: rawParams(map[string]string{"d": `{`})},
			`invalid message: invalid "params": value of "d" is not valid JSON`},
		{"param empty", Message{Version: 1, Job: "a", Params: map[string]json.RawMessage{"d": nil}},
			`invalid message: invalid "params": value of "d" is not valid JSON`},
		{"requested_by with newline", Message{Version: 1, Job: "a", RequestedBy: "x\ny"},
			`invalid message: invalid "requested_by" "x\ny": character 2 is the control character U+000A`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.message.Validate(); err == nil || err.Error() != tc.want {
				t.Errorf("Validate = %v\nwant       %s", err, tc.want)
			}
			body, err := Encode(tc.message)
			if err == nil {
				t.Fatalf("Encode returned %s and no error", body)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Encode error %q does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestEncodeRejectsOversizedBody(t *testing.T) {
	m := Message{Version: 1, Job: "a", Params: rawParams(map[string]string{
		"blob": `"` + strings.Repeat("x", MaxBodyBytes) + `"`,
	})}
	_, err := Encode(m)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Encode error = %v, want one that wraps ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), "max 262144") {
		t.Errorf("error %q does not state the limit", err)
	}
}
