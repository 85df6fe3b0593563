package messages

import _ "embed"

// Schema is the JSON Schema (draft 2020-12) of the version 1 message, for
// tools and people outside this program. Decode applies the same rules and
// a few that the schema cannot express: run_key must be printable, and the
// body may also be an EventBridge event that wraps the message.
//
//go:embed schema.json
var Schema []byte
