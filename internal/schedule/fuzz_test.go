package schedule

import (
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics, that its errors stay short, and
// that Next returns strictly increasing times for a few steps.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"cron(30 3 * * ? *)", "cron(0 12 ? * MON *)", "cron(0 12 * * 1 *)", "cron(*/60 * * * ? *)",
		"cron(0/15 8-17 ? * MON-FRI *)", "cron(0 0 L * ? *)", "cron(0 0 LW * ? *)", "cron(0 0 15W * ? *)",
		"cron(0 0 ? * 6L *)", "cron(0 0 ? * 2#1 *)", "cron(0 0 1 jan,JUL ? 2026-2030/2)", "cron(30 2 * * ? *)",
		"cron(0 0 30 2 ? *)", "cron(59 23 31 12 ? 2199)", "cron(* * * * ? *)", "cron(0 22-2 * * ? *)",
		"rate(1 minute)", "rate(5 minutes)", "rate(1 minutes)", "rate(7 days)",
		"at(2026-12-24T09:00:00)", "at(2026-11-01T01:30:00)", "at(2026-03-08T02:30:00)", "",
	}
	for i, seed := range seeds {
		f.Add(seed, uint8(i), int64(1798761600+i*86400*37))
	}

	zones := []*time.Location{time.UTC}
	for _, name := range []string{"Asia/Tokyo", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia"} {
		zones = append(zones, mustLocation(f, name))
	}

	f.Fuzz(func(t *testing.T, expr string, zoneIndex uint8, startUnix int64) {
		loc := zones[int(zoneIndex)%len(zones)]
		s, err := Parse(expr, loc)
		if err != nil {
			if len(err.Error()) > 512 {
				t.Fatalf("error is %d bytes long: %.200s…", len(err.Error()), err)
			}
			return
		}

		// Keep the start between 1900 and 2300, where cron years can matter.
		const from, span = -2208988800, 400 * 365 * 86400
		after := time.Unix(from+((startUnix%span)+span)%span, 0)
		for range 5 {
			next, ok := s.Next(after)
			if !ok {
				return
			}
			if !next.After(after) {
				t.Fatalf("%s in %s: Next(%s) = %s, not after it", expr, loc, after, next)
			}
			after = next
		}
	})
}
