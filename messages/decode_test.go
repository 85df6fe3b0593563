package messages

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// decodeCase is one accepted body and the message it must decode to.
type decodeCase struct {
	name string
	body string
	want Message
}

func mustTime(t testing.TB, text string) *time.Time {
	t.Helper()
	parsed, err := time.Parse(time.RFC3339, text)
	if err != nil {
		t.Fatalf("parsing test time %q: %v", text, err)
	}
	return &parsed
}

func rawParams(values map[string]string) map[string]json.RawMessage {
	params := make(map[string]json.RawMessage, len(values))
	for name, value := range values {
		params[name] = json.RawMessage(value)
	}
	return params
}

func validDecodeCases(t testing.TB) []decodeCase {
	return []decodeCase{
		{
			name: "minimal message",
			body: `{"version":1,"job":"partner-daily-orders"}`,
			want: Message{Version: 1, Job: "partner-daily-orders"},
		},
		{
			name: "message with every field",
			body: `{"version": 1, "job": "partner-daily-orders", "run_key": "partner-daily-orders/2026-12-24",
				"scheduled_for": "2026-12-24T03:30:00+09:00", "params": {"date": "2026-12-23", "limit": 10},
				"requested_by": "manual:alice"}`,
			want: Message{
				Version: 1, Job: "partner-daily-orders", RunKey: "partner-daily-orders/2026-12-24",
				ScheduledFor: mustTime(t, "2026-12-24T03:30:00+09:00"),
				Params:       rawParams(map[string]string{"date": `"2026-12-23"`, "limit": `10`}),
				RequestedBy:  "manual:alice",
			},
		},
		{
			name: "scheduler templated input after substitution",
			body: `{"version":1,"job":"nightly-summary","scheduled_for":"2026-12-24T18:30:00Z",
				"requested_by":"scheduler:0f6a7c1e-4d2b-4c8e-9a51-3f2e8b7d6c10"}`,
			want: Message{
				Version: 1, Job: "nightly-summary", ScheduledFor: mustTime(t, "2026-12-24T18:30:00Z"),
				RequestedBy: "scheduler:0f6a7c1e-4d2b-4c8e-9a51-3f2e8b7d6c10",
			},
		},
		{
			name: "scheduled event from scheduler takes event time",
			body: `{"detail-type":"Scheduled Event","source":"aws.scheduler","time":"2026-12-24T18:30:00Z",
				"detail":{"version":1,"job":"partner-daily-orders"}}`,
			want: Message{Version: 1, Job: "partner-daily-orders", ScheduledFor: mustTime(t, "2026-12-24T18:30:00Z")},
		},
		{
			name: "rule event with full envelope",
			body: `{"version":"0","id":"89d1a02d-5ec7-412e-82f5-13505f849b41","detail-type":"Scheduled Event",
				"source":"aws.events","account":"123456789012","time":"2026-12-24T18:30:00Z","region":"ap-northeast-1",
				"resources":["arn:aws:events:ap-northeast-1:123456789012:rule/nightly"],
				"detail":{"version":1,"job":"nightly-summary","params":{"full":true}}}`,
			want: Message{
				Version: 1, Job: "nightly-summary", ScheduledFor: mustTime(t, "2026-12-24T18:30:00Z"),
				Params: rawParams(map[string]string{"full": `true`}),
			},
		},
		{
			name: "event keeps scheduled_for of its detail",
			body: `{"detail-type":"Scheduled Event","source":"aws.events","time":"2026-12-24T18:30:05Z",
				"detail":{"version":1,"job":"a","scheduled_for":"2026-12-24T18:30:00Z"}}`,
			want: Message{Version: 1, Job: "a", ScheduledFor: mustTime(t, "2026-12-24T18:30:00Z")},
		},
		{
			name: "replayed event",
			body: `{"version":"0","detail-type":"Manual Run","source":"batchport","time":"2026-12-24T18:30:00Z",
				"replay-name":"after-outage","resources":[],"detail":{"version":1,"job":"a"}}`,
			want: Message{Version: 1, Job: "a", ScheduledFor: mustTime(t, "2026-12-24T18:30:00Z")},
		},
		{
			name: "version written as 1.0",
			body: `{"version":1.0,"job":"a"}`,
			want: Message{Version: 1, Job: "a"},
		},
		{
			name: "empty params become nil",
			body: `{"version":1,"job":"a","params":{}}`,
			want: Message{Version: 1, Job: "a"},
		},
		{
			name: "params values are compacted",
			body: `{"version":1,"job":"a","params":{"ids": [ 1, 2,
				3 ], "filter": { "name" : "x<y" }}}`,
			want: Message{Version: 1, Job: "a", Params: rawParams(map[string]string{
				"ids": `[1,2,3]`, "filter": `{"name":"x<y"}`,
			})},
		},
		{
			name: "whitespace around the body",
			body: " \n\t{\"version\":1,\"job\":\"a\"}\r\n ",
			want: Message{Version: 1, Job: "a"},
		},
		{
			name: "unicode run key and requester",
			body: `{"version":1,"job":"a","run_key":"注文/2026-12-24","requested_by":"manual:山田"}`,
			want: Message{Version: 1, Job: "a", RunKey: "注文/2026-12-24", RequestedBy: "manual:山田"},
		},
	}
}

func TestDecodeAcceptedShapes(t *testing.T) {
	for _, tc := range validDecodeCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.body))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !messagesEqual(got, tc.want) {
				t.Errorf("Decode = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeEventTimeBecomesScheduledFor(t *testing.T) {
	body := `{"detail-type":"Scheduled Event","source":"aws.scheduler","time":"2026-12-24T18:30:00Z",
		"detail":{"version":1,"job":"partner-daily-orders"}}`
	got, err := Decode([]byte(body))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got.ScheduledFor == nil {
		t.Fatal("ScheduledFor is nil, want the event time")
	}
	want := time.Date(2026, 12, 24, 18, 30, 0, 0, time.UTC)
	if !got.ScheduledFor.Equal(want) {
		t.Errorf("ScheduledFor = %v, want %v", got.ScheduledFor, want)
	}
}

// messagesEqual compares messages field by field. Times are equal when they
// are the same instant with the same UTC offset.
func messagesEqual(a, b Message) bool {
	if a.Version != b.Version || a.Job != b.Job || a.RunKey != b.RunKey || a.RequestedBy != b.RequestedBy {
		return false
	}
	if (a.ScheduledFor == nil) != (b.ScheduledFor == nil) {
		return false
	}
	if a.ScheduledFor != nil {
		_, offsetA := a.ScheduledFor.Zone()
		_, offsetB := b.ScheduledFor.Zone()
		if !a.ScheduledFor.Equal(*b.ScheduledFor) || offsetA != offsetB {
			return false
		}
	}
	return reflect.DeepEqual(a.Params, b.Params)
}

func TestDecodeErrorsWrapErrInvalid(t *testing.T) {
	for _, tc := range invalidDecodeCases() {
		_, err := Decode([]byte(tc.body))
		if err == nil {
			t.Errorf("%s: Decode returned no error", tc.name)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %q does not wrap ErrInvalid", tc.name, err)
		}
	}
}

func TestDecodeErrorQuotesAreShort(t *testing.T) {
	long := strings.Repeat("A", 100_000)
	bodies := []string{
		`{"version":1,"job":"` + long + `"}`,
		`{"version":1,"job":"a","` + long + `":1}`,
		`{"version":1,"job":"a","scheduled_for":"` + long + `"}`,
		`{"version":1,"job":"a","run_key":"` + long + `"}`,
		`{"version":1` + strings.Repeat("0", 100_000) + `,"job":"a"}`,
		`{"version":1,"job":` + strings.Repeat("9", 100_000) + `}`,
	}
	for _, body := range bodies {
		_, err := Decode([]byte(body))
		if err == nil {
			t.Fatalf("Decode of a %d-byte body returned no error", len(body))
		}
		if len(err.Error()) > 400 {
			t.Errorf("error is %d bytes, want at most 400: %.120s…", len(err.Error()), err)
		}
	}
}
