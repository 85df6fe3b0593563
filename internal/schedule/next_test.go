package schedule

import (
	"testing"
	"time"
)

// nextCase lists the fire times expected after a start time. The expected
// times were worked out by hand from a calendar, independently of the code.
type nextCase struct {
	name  string
	expr  string
	zone  string
	after string   // RFC 3339
	want  []string // RFC 3339; fewer than asked means Next must then return false
	count int      // how many times to ask for; defaults to len(want)
}

func parseRFC3339(t *testing.T, text string) time.Time {
	t.Helper()
	parsed, err := time.Parse(time.RFC3339, text)
	if err != nil {
		t.Fatalf("parsing test time %q: %v", text, err)
	}
	return parsed
}

func runNextCases(t *testing.T, cases []nextCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.expr, mustLocation(t, tc.zone))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			count := max(tc.count, len(tc.want))
			after := parseRFC3339(t, tc.after)
			for i := range count {
				next, ok := s.Next(after)
				if i >= len(tc.want) {
					if ok {
						t.Fatalf("Next(%s) = %s, want none", after.Format(time.RFC3339), next.Format(time.RFC3339))
					}
					return
				}
				want := parseRFC3339(t, tc.want[i])
				if !ok || !next.Equal(want) {
					t.Fatalf("Next(%s) = %s, %v; want %s", after.Format(time.RFC3339), next.Format(time.RFC3339), ok, tc.want[i])
				}
				if next.Location().String() != tc.zone {
					t.Errorf("Next returned a time in %s, want %s", next.Location(), tc.zone)
				}
				after = next
			}
		})
	}
}

func TestNextWeeklyMonday(t *testing.T) {
	// 2026-12-24 is a Thursday, so the next Mondays are Dec 28, Jan 4 and Jan 11.
	runNextCases(t, []nextCase{
		{name: "Tokyo", expr: "cron(0 12 ? * MON *)", zone: "Asia/Tokyo", after: "2026-12-24T00:00:00+09:00",
			want: []string{"2026-12-28T12:00:00+09:00", "2027-01-04T12:00:00+09:00", "2027-01-11T12:00:00+09:00"}},
		{name: "Tokyo in UTC", expr: "cron(0 12 ? * MON *)", zone: "Asia/Tokyo", after: "2026-12-24T00:00:00Z",
			want: []string{"2026-12-28T03:00:00Z", "2027-01-04T03:00:00Z", "2027-01-11T03:00:00Z"}},
		{name: "UTC", expr: "cron(0 12 ? * MON *)", zone: "UTC", after: "2026-12-24T00:00:00Z",
			want: []string{"2026-12-28T12:00:00Z", "2027-01-04T12:00:00Z", "2027-01-11T12:00:00Z"}},
		{name: "start on a fire time", expr: "cron(0 12 ? * 2 *)", zone: "UTC", after: "2026-12-28T12:00:00Z",
			want: []string{"2027-01-04T12:00:00Z"}},
	})
}

func TestNextCronFields(t *testing.T) {
	runNextCases(t, []nextCase{
		{name: "daily", expr: "cron(30 3 * * ? *)", zone: "Asia/Tokyo", after: "2026-12-24T03:30:00+09:00",
			want: []string{"2026-12-25T03:30:00+09:00", "2026-12-26T03:30:00+09:00"}},
		{name: "minute step from offset", expr: "cron(1/20 10 * * ? *)", zone: "UTC", after: "2026-12-24T09:00:00Z",
			want: []string{"2026-12-24T10:01:00Z", "2026-12-24T10:21:00Z", "2026-12-24T10:41:00Z", "2026-12-25T10:01:00Z"}},
		{name: "weekday working hours", expr: "cron(0 8-17/3 ? * MON-FRI *)", zone: "UTC", after: "2026-12-25T16:00:00Z",
			want: []string{"2026-12-25T17:00:00Z", "2026-12-28T08:00:00Z", "2026-12-28T11:00:00Z"}},
		{name: "month names and list", expr: "cron(0 0 1 jan,JUL ? *)", zone: "UTC", after: "2026-06-15T00:00:00Z",
			want: []string{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z"}},
		{name: "day 31 skips short months", expr: "cron(0 0 31 * ? *)", zone: "UTC", after: "2026-03-31T00:00:00Z",
			want: []string{"2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"}},
		{name: "February 29", expr: "cron(0 0 29 2 ? *)", zone: "UTC", after: "2026-01-01T00:00:00Z",
			want: []string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
	})
}

func TestNextSpecialDays(t *testing.T) {
	runNextCases(t, []nextCase{
		// February 2026 has 28 days, February 2028 has 29.
		{name: "L last day", expr: "cron(0 0 L * ? *)", zone: "UTC", after: "2026-02-01T00:00:00Z",
			want: []string{"2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z"}},
		{name: "L in leap February", expr: "cron(0 0 L 2 ? *)", zone: "UTC", after: "2027-03-01T00:00:00Z",
			want: []string{"2028-02-29T00:00:00Z"}},
		// 2026-01-31 is a Saturday and 2026-05-31 a Sunday, so both move back to Friday.
		{name: "LW last weekday", expr: "cron(0 0 LW * ? *)", zone: "UTC", after: "2026-01-01T00:00:00Z",
			want: []string{"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-31T00:00:00Z",
				"2026-04-30T00:00:00Z", "2026-05-29T00:00:00Z"}},
		// 2026-08-15 is a Saturday (Friday the 14th), 2026-11-15 a Sunday (Monday the 16th).
		{name: "15W nearest weekday", expr: "cron(0 0 15W 8,9,11 ? *)", zone: "UTC", after: "2026-08-01T00:00:00Z",
			want: []string{"2026-08-14T00:00:00Z", "2026-09-15T00:00:00Z", "2026-11-16T00:00:00Z"}},
		// 2026-08-01 is a Saturday, so the nearest weekday in August is Monday the 3rd.
		{name: "1W stays in month", expr: "cron(0 0 1W 8 ? *)", zone: "UTC", after: "2026-07-01T00:00:00Z",
			want: []string{"2026-08-03T00:00:00Z"}},
		// 31W never fires in 30-day months. 2026-01-31 is a Saturday, 2026-05-31 a Sunday.
		{name: "31W", expr: "cron(0 0 31W * ? 2026)", zone: "UTC", after: "2026-01-01T00:00:00Z",
			want: []string{"2026-01-30T00:00:00Z", "2026-03-31T00:00:00Z", "2026-05-29T00:00:00Z",
				"2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z", "2026-10-30T00:00:00Z", "2026-12-31T00:00:00Z"}, count: 8},
		// The Fridays of December 2026 are the 4th, 11th, 18th and 25th.
		{name: "6L last Friday", expr: "cron(0 9 ? 12 6L *)", zone: "Asia/Tokyo", after: "2026-12-01T00:00:00+09:00",
			want: []string{"2026-12-25T09:00:00+09:00", "2027-12-31T09:00:00+09:00"}},
		{name: "FRIL last Friday", expr: "cron(0 9 ? 12 FRIL *)", zone: "UTC", after: "2026-12-01T00:00:00Z",
			want: []string{"2026-12-25T09:00:00Z"}},
		// The first Mondays: 2026-12-07, 2027-01-04, 2027-02-01.
		{name: "2#1 first Monday", expr: "cron(0 0 ? * 2#1 *)", zone: "UTC", after: "2026-12-01T00:00:00Z",
			want: []string{"2026-12-07T00:00:00Z", "2027-01-04T00:00:00Z", "2027-02-01T00:00:00Z"}},
		// Fifth Fridays in 2026: January 30, then none until May 29.
		{name: "6#5 fifth Friday", expr: "cron(0 0 ? * 6#5 *)", zone: "UTC", after: "2026-01-01T00:00:00Z",
			want: []string{"2026-01-30T00:00:00Z", "2026-05-29T00:00:00Z"}},
		// Alone, L in day-of-week is Saturday: 2026-12-26 and 2027-01-02.
		{name: "L alone is Saturday", expr: "cron(0 0 ? * L *)", zone: "UTC", after: "2026-12-24T00:00:00Z",
			want: []string{"2026-12-26T00:00:00Z", "2027-01-02T00:00:00Z"}},
	})
}

func TestNextYearBounds(t *testing.T) {
	runNextCases(t, []nextCase{
		{name: "single year ended", expr: "cron(0 0 1 1 ? 2026)", zone: "UTC", after: "2026-06-01T00:00:00Z",
			count: 1},
		{name: "single year ahead", expr: "cron(0 0 1 1 ? 2026)", zone: "UTC", after: "2025-06-01T00:00:00Z",
			want: []string{"2026-01-01T00:00:00Z"}, count: 2},
		{name: "year range with step", expr: "cron(0 0 1 1 ? 2026-2031/2)", zone: "UTC", after: "2025-01-01T00:00:00Z",
			want: []string{"2026-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2030-01-01T00:00:00Z"}, count: 4},
		{name: "last year of the field", expr: "cron(59 23 31 12 ? *)", zone: "UTC", after: "2199-06-01T00:00:00Z",
			want: []string{"2199-12-31T23:59:00Z"}, count: 2},
		{name: "after the last year", expr: "cron(* * * * ? *)", zone: "UTC", after: "2200-01-01T00:00:00Z", count: 1},
		{name: "before the first year", expr: "cron(0 0 1 1 ? *)", zone: "UTC", after: "1900-01-01T00:00:00Z",
			want: []string{"1970-01-01T00:00:00Z", "1971-01-01T00:00:00Z"}},
		{name: "day that never occurs", expr: "cron(0 0 30 2 ? *)", zone: "UTC", after: "2026-01-01T00:00:00Z", count: 1},
	})
}

func TestNextRateIsEstimate(t *testing.T) {
	runNextCases(t, []nextCase{
		{name: "minutes truncated", expr: "rate(5 minutes)", zone: "UTC", after: "2026-12-24T10:00:30Z",
			want: []string{"2026-12-24T10:05:00Z", "2026-12-24T10:10:00Z"}},
		{name: "day is 24 hours", expr: "rate(1 day)", zone: "America/New_York", after: "2026-03-07T12:00:00-05:00",
			want: []string{"2026-03-08T13:00:00-04:00"}},
	})
}

func TestNextAt(t *testing.T) {
	runNextCases(t, []nextCase{
		{name: "ahead", expr: "at(2026-12-24T09:00:00)", zone: "Asia/Tokyo", after: "2026-12-01T00:00:00Z",
			want: []string{"2026-12-24T00:00:00Z"}, count: 2},
		{name: "passed", expr: "at(2026-12-24T09:00:00)", zone: "Asia/Tokyo", after: "2026-12-24T00:00:00Z", count: 1},
		// Clocks in New York go back from 02:00 EDT to 01:00 EST on 2026-11-01.
		{name: "repeated hour takes first", expr: "at(2026-11-01T01:30:00)", zone: "America/New_York",
			after: "2026-11-01T00:00:00-04:00", want: []string{"2026-11-01T01:30:00-04:00"}, count: 2},
	})
}
