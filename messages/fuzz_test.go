package messages

import (
	"errors"
	"testing"
)

// FuzzDecode checks that Decode never panics, that its errors wrap
// ErrInvalid and stay short, and that every message it accepts encodes and
// decodes again to the same value.
func FuzzDecode(f *testing.F) {
	for _, tc := range validDecodeCases(f) {
		f.Add([]byte(tc.body))
	}
	for _, tc := range invalidDecodeCases() {
		if len(tc.body) < 4096 {
			f.Add([]byte(tc.body))
		}
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Decode(body)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %q does not wrap ErrInvalid", err)
			}
			if len(err.Error()) > 1024 {
				t.Fatalf("error is %d bytes long: %.200s…", len(err.Error()), err)
			}
			return
		}

		encoded, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode of decoded %+v: %v", m, err)
		}
		again, err := Decode(encoded)
		if err != nil {
			t.Fatalf("Decode of encoded %s: %v", encoded, err)
		}
		if !messagesEqual(again, m) {
			t.Fatalf("round trip changed the message\nfirst:  %+v\nsecond: %+v", m, again)
		}
	})
}
