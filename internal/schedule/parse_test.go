package schedule

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests need zones with daylight saving time on any machine
)

func mustLocation(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("loading time zone %s: %v", name, err)
	}
	return loc
}

func TestParseAccepts(t *testing.T) {
	cases := []struct {
		expr string
		kind Kind
	}{
		{"cron(30 3 * * ? *)", KindCron},
		{"cron(0 12 ? * MON *)", KindCron},
		{"cron(0/15 8-17 ? * MON-FRI *)", KindCron},
		{"cron(1/10 * * * ? *)", KindCron},
		{"cron(0 0 L * ? *)", KindCron},
		{"cron(0 0 LW * ? *)", KindCron},
		{"cron(0 0 15W * ? *)", KindCron},
		{"cron(0 0 ? * 6L *)", KindCron},
		{"cron(0 0 ? * FRIL *)", KindCron},
		{"cron(0 0 ? * 2#1 *)", KindCron},
		{"cron(0 0 ? * L *)", KindCron},
		{"cron(0 0 1 jan,Jul ? 2026-2030/2)", KindCron},
		{"cron(59 23 31 DEC ? 2199)", KindCron},
		{"cron(0 0 1 1 ? 1970)", KindCron},
		{"  cron(0   12  *  *  ?  *)  ", KindCron},
		{"rate(1 minute)", KindRate},
		{"rate(5 minutes)", KindRate},
		{"rate(1 hour)", KindRate},
		{"rate(12 hours)", KindRate},
		{"rate(1 day)", KindRate},
		{"rate(7 days)", KindRate},
		{"at(2026-12-24T09:00:00)", KindAt},
	}
	for _, tc := range cases {
		s, err := Parse(tc.expr, time.UTC)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.expr, err)
			continue
		}
		if s.Kind() != tc.kind {
			t.Errorf("Parse(%q).Kind() = %v, want %v", tc.expr, s.Kind(), tc.kind)
		}
		if s.String() != strings.TrimSpace(tc.expr) {
			t.Errorf("Parse(%q).String() = %q", tc.expr, s.String())
		}
	}
}

func TestParseRejects(t *testing.T) {
	newYork := mustLocation(t, "America/New_York")
	cases := []struct {
		expr string
		want string // the error text after `parsing schedule "EXPR": `
	}{
		{"cron(0 12 * * 1 *)", `cron: day-of-month "*" and day-of-week "1" cannot both be set, so one of them must be "?"`},
		{"cron(*/60 * * * ? *)", "cron: minutes: step 60 out of range 1-59"},
		{"rate(1 minutes)", `rate: value 1 takes the singular unit "minute"`},
		{"rate(5 minute)", `rate: value 5 takes the plural unit "minutes"`},
		{"rate(1 days)", `rate: value 1 takes the singular unit "day"`},
		{"rate(0 minutes)", `rate: value "0" is not a positive whole number`},
		{"rate(-5 minutes)", `rate: value "-5" is not a positive whole number`},
		{"rate(1.5 hours)", `rate: value "1.5" is not a positive whole number`},
		{"rate(5 seconds)", `rate: unknown unit "seconds" (use minute, minutes, hour, hours, day or days)`},
		{"rate(5)", "rate: expected a value and a unit such as rate(5 minutes), found 1 fields"},
		{"rate(9999999999999 days)", "rate: 9999999999999 days is longer than this program can represent"},
		{"cron(0 12 * * ?)", "cron: expected 6 fields (minutes hours day-of-month month day-of-week year), found 5"},
		{"cron(0 0 ? * ? *)", `cron: day-of-month and day-of-week cannot both be "?", so set one of them`},
		{"cron(60 * * * ? *)", "cron: minutes: value 60 out of range 0-59"},
		{"cron(0/0 * * * ? *)", "cron: minutes: step 0 out of range 1-59"},
		{"cron(0 24 * * ? *)", "cron: hours: value 24 out of range 0-23"},
		{"cron(0 */24 * * ? *)", "cron: hours: step 24 out of range 1-23"},
		{"cron(0 22-2 * * ? *)", `cron: hours: range "22-2" runs backwards, so split it in two such as 22-23,0-2`},
		{"cron(0 0 0 * ? *)", "cron: day-of-month: value 0 out of range 1-31"},
		{"cron(0 0 32 * ? *)", "cron: day-of-month: value 32 out of range 1-31"},
		{"cron(0 0 1,,2 * ? *)", `cron: day-of-month: empty item in list "1,,2"`},
		{"cron(0 0 L-3 * ? *)", `cron: day-of-month: invalid value "L-3" (use "L", "LW" or one day followed by W, such as "15W", alone in the field)`},
		{"cron(0 0 1,L * ? *)", `cron: day-of-month: invalid value "1,L" (use "L", "LW" or one day followed by W, such as "15W", alone in the field)`},
		{"cron(0 0 15W,20 * ? *)", `cron: day-of-month: invalid value "15W,20" (use "L", "LW" or one day followed by W, such as "15W", alone in the field)`},
		{"cron(0 0 32W * ? *)", "cron: day-of-month: value 32 out of range 1-31"},
		{"cron(0 0 1 13 ? *)", "cron: month: value 13 out of range 1-12"},
		{"cron(0 0 1 FOO ? *)", `cron: month: invalid value "FOO" (use 1-12 or JAN-DEC)`},
		{"cron(0 0 ? * 0 *)", "cron: day-of-week: value 0 out of range 1-7"},
		{"cron(0 0 ? * 8 *)", "cron: day-of-week: value 8 out of range 1-7"},
		{"cron(0 0 ? * MON-FRX *)", `cron: day-of-week: invalid value "FRX" (use 1-7 or SUN-SAT)`},
		{"cron(0 0 ? * 2#6 *)", `cron: day-of-week: week "6" in "2#6" out of range 1-5`},
		{"cron(0 0 ? * 2#0 *)", `cron: day-of-week: week "0" in "2#0" out of range 1-5`},
		{"cron(0 0 ? * 3#1,6#3 *)", `cron: day-of-week: invalid value "3#1,6#3" (use one day and week joined by "#", such as "2#1", alone in the field)`},
		{"cron(0 0 ? * 1-3L *)", `cron: day-of-week: invalid value "1-3L" (use "L" or one day followed by L, such as "6L", alone in the field)`},
		{"cron(0 0 1 1 ? 1969)", "cron: year: value 1969 out of range 1970-2199"},
		{"cron(0 0 1 1 ? 2200)", "cron: year: value 2200 out of range 1970-2199"},
		{"cron(0 0 1 1 ? */230)", "cron: year: step 230 out of range 1-229"},
		{"cron(x 0 1 1 ? *)", `cron: minutes: invalid value "x" (use 0-59)`},
		{"at(2026-12-24 09:00)", `at: "2026-12-24 09:00" is not a time of the form yyyy-mm-ddThh:mm:ss`},
		{"at(2026-12-24T09:00:00Z)", `at: "2026-12-24T09:00:00Z" is not a time of the form yyyy-mm-ddThh:mm:ss`},
		{"every 5 minutes", "expected cron(...), rate(...) or at(...)"},
		{"", "expected cron(...), rate(...) or at(...)"},
		{"CRON(0 12 * * ? *)", "expected cron(...), rate(...) or at(...)"},
	}
	for _, tc := range cases {
		_, err := Parse(tc.expr, time.UTC)
		want := "parsing schedule " + quote(tc.expr) + ": " + tc.want
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q) error = %v\nwant                %s", tc.expr, err, want)
		}
	}

	_, err := Parse("at(2026-03-08T02:30:00)", newYork)
	want := `parsing schedule "at(2026-03-08T02:30:00)": at: 2026-03-08T02:30:00 does not exist in America/New_York, ` +
		`because the clocks skip it (daylight saving time)`
	if err == nil || err.Error() != want {
		t.Errorf("Parse of an at() time in a skipped hour: error = %v\nwant %s", err, want)
	}
}

func TestParseErrorQuotesAreShort(t *testing.T) {
	expr := "cron(0 0 " + strings.Repeat("1,", 50_000) + "1 * 1 *)"
	_, err := Parse(expr, time.UTC)
	if err == nil {
		t.Fatal("Parse of a 100 kB expression returned no error")
	}
	if len(err.Error()) > 400 {
		t.Errorf("error is %d bytes, want at most 400", len(err.Error()))
	}
}

func TestParseNilLocationIsUTC(t *testing.T) {
	s, err := Parse("cron(0 12 * * ? *)", nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if s.Location() != time.UTC {
		t.Errorf("Location() = %v, want UTC", s.Location())
	}
}

func TestParseRejectsNonASCII(t *testing.T) {
	cases := map[string]string{
		"cron(0 12 * * ？ *)":  "the byte at offset 14 is 0xef, but a schedule expression is printable ASCII",
		"rate(1 \x9c\xff)":    "the byte at offset 7 is 0x9c, but a schedule expression is printable ASCII",
		"rate(5 minutes)\x00": "the byte at offset 15 is 0x00, but a schedule expression is printable ASCII",
	}
	for expr, want := range cases {
		_, err := Parse(expr, time.UTC)
		want = "parsing schedule " + quote(expr) + ": " + want
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q) error = %v\nwant %s", expr, err, want)
		}
	}
}
