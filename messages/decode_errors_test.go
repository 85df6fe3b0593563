package messages

import (
	"strings"
	"testing"
)

// errorCase is one rejected body and the exact error text it must produce.
type errorCase struct {
	name string
	body string
	want string
}

const allowedMessageFields = `"version", "job", "run_key", "scheduled_for", "params" and "requested_by"`

const allowedEventFields = `"version", "id", "detail-type", "source", "account", "time", "region", ` +
	`"resources", "detail" and "replay-name"`

func invalidDecodeCases() []errorCase {
	tooLong := strings.Repeat("k", MaxRunKeyChars+1)
	return []errorCase{
		// The body as a whole.
		{"body too large", `{"version":1,"job":"a","params":{"x":"` + strings.Repeat("x", 300000-41) + `"}}`,
			"invalid message: body is 300000 bytes, max 262144"},
		{"empty body", "  \n", "invalid message: body is empty"},
		{"invalid UTF-8", "{\"version\":1,\"job\":\"a\xff\"}", "invalid message: body is not valid UTF-8 (first invalid byte at offset 21)"},
		{"not JSON", `hello`, "invalid message: not JSON: invalid character 'h' looking for beginning of value (at offset 0)"},
		{"bad value", `{"version":1,"job":x}`, "invalid message: not JSON: invalid character 'x' looking for beginning of value (at offset 19)"},
		{"missing colon", `{"version" 1}`, "invalid message: not JSON: invalid character '1' after object key (at offset 11)"},
		{"truncated JSON", `{"version":1,"job":`, "invalid message: not JSON: unexpected end of input at offset 19"},
		{"array body", `[{"version":1,"job":"a"}]`, "invalid message: body is a JSON array, expected a JSON object"},
		{"string body", `"a"`, "invalid message: body is a JSON string, expected a JSON object"},
		{"null body", `null`, "invalid message: body is JSON null, expected a JSON object"},
		{"trailing object", `{"version":1,"job":"a"} {}`, "invalid message: unexpected data after the JSON object at offset 24"},
		{"trailing garbage", `{"version":1,"job":"a"}x`, "invalid message: unexpected data after the JSON object at offset 23"},
		{"duplicate field", `{"version":1,"job":"a","job":"b"}`, `invalid message: duplicate field "job"`},

		// Required fields and the version.
		{"missing job", `{"version":1}`, `invalid message: missing "job"`},
		{"missing version", `{"job":"a"}`, `invalid message: missing "version"`},
		{"empty object", `{}`, `invalid message: missing "job" and "version"`},
		{"version 2", `{"version":2,"job":"a"}`, "invalid message: unsupported version 2, expected 1"},
		{"version 0", `{"version":0,"job":"a"}`, "invalid message: unsupported version 0, expected 1"},
		{"version as string", `{"version":"1","job":"a"}`, `invalid message: "version" must be the number 1, found string "1"`},
		{"version null", `{"version":null,"job":"a"}`, `invalid message: "version" must be the number 1, found null`},

		// Field names.
		{"misspelled job", `{"version":1,"job":"a","jobb":"b"}`,
			`invalid message: unknown field "jobb" (allowed: ` + allowedMessageFields + `)`},
		{"field name in other case", `{"version":1,"job":"a","Job":"b"}`,
			`invalid message: unknown field "Job" (allowed: ` + allowedMessageFields + `)`},

		// Field values.
		{"job as number", `{"version":1,"job":12}`, `invalid message: "job" must be a string, found number 12`},
		{"job empty", `{"version":1,"job":""}`, `invalid message: "job" is empty`},
		{"job upper case", `{"version":1,"job":"Daily_Orders"}`,
			`invalid message: invalid "job" "Daily_Orders": a job name is 1 to 63 characters of a-z, 0-9 and "-", and starts with a letter or digit`},
		{"job starts with dash", `{"version":1,"job":"-a"}`,
			`invalid message: invalid "job" "-a": a job name is 1 to 63 characters of a-z, 0-9 and "-", and starts with a letter or digit`},
		{"job 64 characters", `{"version":1,"job":"` + strings.Repeat("a", 64) + `"}`,
			`invalid message: invalid "job" "` + strings.Repeat("a", 64) + `": a job name is 1 to 63 characters of a-z, 0-9 and "-", and starts with a letter or digit`},
		{"run key empty", `{"version":1,"job":"a","run_key":""}`,
			`invalid message: "run_key" is empty (leave the field out to use the job's default key)`},
		{"run key null", `{"version":1,"job":"a","run_key":null}`, `invalid message: "run_key" must be a string, found null`},
		{"run key too long", `{"version":1,"job":"a","run_key":"` + tooLong + `"}`,
			`invalid message: invalid "run_key" "` + strings.Repeat("k", 64) + `…": 513 characters, max 512`},
		{"run key with newline", `{"version":1,"job":"a","run_key":"a\nb"}`,
			`invalid message: invalid "run_key" "a\nb": character 2 is the control character U+000A`},
		{"run key of spaces", `{"version":1,"job":"a","run_key":"   "}`,
			`invalid message: invalid "run_key" "   ": it starts or ends with white space`},
		{"run key with trailing space", `{"version":1,"job":"a","run_key":"a "}`,
			`invalid message: invalid "run_key" "a ": it starts or ends with white space`},
		{"run key not printable", `{"version":1,"job":"a","run_key":"a\u200bb"}`,
			`invalid message: invalid "run_key" "a\u200bb": character 2 (U+200B) is not printable`},
		{"scheduled_for not RFC 3339", `{"version":1,"job":"a","scheduled_for":"2026-12-24 03:30"}`,
			`invalid message: invalid "scheduled_for" "2026-12-24 03:30": expected an RFC 3339 time such as 2026-12-24T03:30:00+09:00`},
		{"scheduled_for as number", `{"version":1,"job":"a","scheduled_for":1766514600}`,
			`invalid message: "scheduled_for" must be a string, found number 1766514600`},
		{"params array", `{"version":1,"job":"a","params":["x"]}`, `invalid message: "params" must be a JSON object, found an array`},
		{"params null", `{"version":1,"job":"a","params":null}`, `invalid message: "params" must be a JSON object, found null`},
		{"params duplicate name", `{"version":1,"job":"a","params":{"d":1,"d":2}}`,
			`invalid message: reading "params": duplicate field "d"`},
		{"requested_by too long", `{"version":1,"job":"a","requested_by":"` + strings.Repeat("r", 257) + `"}`,
			`invalid message: invalid "requested_by" "` + strings.Repeat("r", 64) + `…": 257 characters, max 256`},
		{"requested_by with tab", `{"version":1,"job":"a","requested_by":"manual:\tx"}`,
			`invalid message: invalid "requested_by" "manual:\tx": character 8 is the control character U+0009`},

		// EventBridge events.
		{"event detail empty", `{"detail-type":"Scheduled Event","source":"aws.events","time":"2026-12-24T18:30:00Z","detail":{}}`,
			`invalid message: EventBridge event detail: missing "job" and "version"`},
		{"event detail without job", `{"detail-type":"Scheduled Event","source":"aws.scheduler","time":"2026-12-24T18:30:00Z","detail":{"version":1}}`,
			`invalid message: EventBridge event detail: missing "job"`},
		{"event detail unknown field", `{"detail-type":"x","source":"s","time":"2026-12-24T18:30:00Z","detail":{"version":1,"job":"a","jobb":1}}`,
			`invalid message: EventBridge event detail: unknown field "jobb" (allowed: ` + allowedMessageFields + `)`},
		{"event detail is a string", `{"detail-type":"x","source":"s","time":"2026-12-24T18:30:00Z","detail":"{\"version\":1}"}`,
			`invalid message: EventBridge event: "detail" must be a JSON object that is the job message, found string "{\"version\":1}"`},
		{"event without time", `{"detail-type":"x","source":"s","detail":{"version":1,"job":"a"}}`,
			`invalid message: EventBridge event: missing "time"`},
		{"event without detail", `{"detail-type":"Scheduled Event","source":"aws.events"}`,
			`invalid message: EventBridge event: missing "time" and "detail"`},
		{"event without detail-type", `{"source":"aws.events","time":"2026-12-24T18:30:00Z","detail":{"version":1,"job":"a"}}`,
			`invalid message: EventBridge event: missing "detail-type"`},
		{"event bad time", `{"detail-type":"x","source":"s","time":"yesterday","detail":{"version":1,"job":"a"}}`,
			`invalid message: EventBridge event: invalid "time" "yesterday": expected an RFC 3339 time such as 2026-12-24T03:30:00+09:00`},
		{"event version 1", `{"version":"1","detail-type":"x","source":"s","time":"2026-12-24T18:30:00Z","detail":{"version":1,"job":"a"}}`,
			`invalid message: EventBridge event: "version" must be the string "0", found string "1"`},
		{"event unknown field", `{"detail-type":"x","source":"s","time":"2026-12-24T18:30:00Z","detial":{},"detail":{"version":1,"job":"a"}}`,
			`invalid message: EventBridge event: unknown field "detial" (allowed: ` + allowedEventFields + `)`},
		{"event source as number", `{"detail-type":"x","source":7,"time":"2026-12-24T18:30:00Z","detail":{"version":1,"job":"a"}}`,
			`invalid message: EventBridge event: "source" must be a string, found number 7`},
		{"event resources not strings", `{"detail-type":"x","source":"s","time":"2026-12-24T18:30:00Z","resources":[1],"detail":{"version":1,"job":"a"}}`,
			`invalid message: EventBridge event: "resources" must be an array of strings, found an array`},
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range invalidDecodeCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.body))
			if err == nil {
				t.Fatalf("Decode returned %+v and no error, want %q", got, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error = %s\nwant    %s", err, tc.want)
			}
		})
	}
}

func TestDecodeBodyAtMaxSize(t *testing.T) {
	prefix := `{"version":1,"job":"a","params":{"x":"`
	suffix := `"}}`
	body := prefix + strings.Repeat("x", MaxBodyBytes-len(prefix)-len(suffix)) + suffix
	if len(body) != MaxBodyBytes {
		t.Fatalf("test body is %d bytes, want %d", len(body), MaxBodyBytes)
	}
	if _, err := Decode([]byte(body)); err != nil {
		t.Errorf("Decode of a body of exactly %d bytes: %v", MaxBodyBytes, err)
	}
	if _, err := Decode([]byte(body + " ")); err == nil {
		t.Errorf("Decode of a body of %d bytes returned no error", MaxBodyBytes+1)
	}
}
