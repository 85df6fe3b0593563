package schedule

import "testing"

// In New York, clocks jump from 02:00 EST to 03:00 EDT on 2026-03-08 and go
// back from 02:00 EDT to 01:00 EST on 2026-11-01. In London they jump from
// 01:00 GMT to 02:00 BST on 2026-03-29.

func TestNextSkipsTimesInDaylightSavingGap(t *testing.T) {
	runNextCases(t, []nextCase{
		{name: "daily time in the gap", expr: "cron(30 2 * * ? *)", zone: "America/New_York",
			after: "2026-03-07T00:00:00-05:00",
			want:  []string{"2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00"}},
		{name: "half-hourly across the gap", expr: "cron(*/30 * * * ? *)", zone: "America/New_York",
			after: "2026-03-08T01:00:00-05:00",
			want:  []string{"2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"}},
		{name: "London gap", expr: "cron(30 1 * * ? *)", zone: "Europe/London",
			after: "2026-03-28T12:00:00Z",
			want:  []string{"2026-03-30T01:30:00+01:00"}},
		// Samoa skipped 2011-12-30 when it moved from UTC-10 to UTC+14.
		{name: "skipped calendar day", expr: "cron(0 12 * * ? *)", zone: "Pacific/Apia",
			after: "2011-12-29T00:00:00-10:00",
			want:  []string{"2011-12-29T12:00:00-10:00", "2011-12-31T12:00:00+14:00"}},
	})
}

func TestNextFiresOnceInRepeatedHour(t *testing.T) {
	runNextCases(t, []nextCase{
		{name: "daily time in the repeated hour", expr: "cron(30 1 * * ? *)", zone: "America/New_York",
			after: "2026-10-31T12:00:00-04:00",
			want:  []string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{name: "half-hourly across the repeated hour", expr: "cron(*/30 * * * ? *)", zone: "America/New_York",
			after: "2026-11-01T01:00:00-04:00",
			want:  []string{"2026-11-01T01:30:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T02:30:00-05:00"}},
		{name: "start in the second occurrence", expr: "cron(30 1 * * ? *)", zone: "America/New_York",
			after: "2026-11-01T01:10:00-05:00",
			want:  []string{"2026-11-02T01:30:00-05:00"}},
	})
}
