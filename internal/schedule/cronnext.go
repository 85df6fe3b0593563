package schedule

import "time"

// offsetProbes are the distances from a wall-clock time, read as UTC, at
// which resolveWall looks up the zone offset. Real instants lie within 15
// hours of that reading, so the probes find the offsets on both sides of any
// single transition near it.
var offsetProbes = [...]time.Duration{-36 * time.Hour, -12 * time.Hour, 0, 12 * time.Hour, 36 * time.Hour}

// next returns the first fire time strictly after the given instant. It
// walks days forward in the schedule's location, skipping years and months
// that the expression excludes, and stops after the last year of the field.
func (c *cronSpec) next(after time.Time, loc *time.Location) (time.Time, bool) {
	year, month, date := after.In(loc).Date()
	// Start a day early: when clocks go back, a wall-clock time on the
	// previous date can still be ahead of the given instant.
	day := time.Date(year, month, date-1, 0, 0, 0, 0, time.UTC)

	for day.Year() <= yearField.max {
		year, month, _ := day.Date()
		switch {
		case year < yearField.min:
			day = time.Date(yearField.min, time.January, 1, 0, 0, 0, 0, time.UTC)
		case !c.years.has(year):
			day = time.Date(year+1, time.January, 1, 0, 0, 0, 0, time.UTC)
		case !c.months.has(int(month)):
			day = time.Date(year, month+1, 1, 0, 0, 0, 0, time.UTC)
		default:
			if c.matchesDay(day) {
				if fire, ok := c.firstOnDay(day, after, loc); ok {
					return fire, true
				}
			}
			day = day.AddDate(0, 0, 1)
		}
	}
	return time.Time{}, false
}

// firstOnDay returns the first fire time on the given date that is after the
// given instant. Fire times within a date increase with the wall-clock time,
// so a date or hour whose last fire time has passed is skipped whole.
func (c *cronSpec) firstOnDay(day, after time.Time, loc *time.Location) (time.Time, bool) {
	lastHour, lastMinute := c.hours[len(c.hours)-1], c.minutes[len(c.minutes)-1]
	if fire, ok := resolveWall(wallClock(day, lastHour, lastMinute), loc); ok && !fire.After(after) {
		return time.Time{}, false
	}

	for _, hour := range c.hours {
		if fire, ok := resolveWall(wallClock(day, hour, lastMinute), loc); ok && !fire.After(after) {
			continue
		}
		for _, minute := range c.minutes {
			if fire, ok := resolveWall(wallClock(day, hour, minute), loc); ok && fire.After(after) {
				return fire, true
			}
		}
	}
	return time.Time{}, false
}

// matchesDay reports whether the day rule selects the given date.
func (c *cronSpec) matchesDay(day time.Time) bool {
	year, month, date := day.Date()
	last := daysIn(year, month)
	weekday := int(day.Weekday()) + 1 // EventBridge numbers Sunday 1

	switch c.rule {
	case daysOfMonth:
		return c.days.has(date)
	case lastDayOfMonth:
		return date == last
	case lastWeekdayOfMonth:
		return date == nearestWeekdayTo(year, month, last)
	case nearestWeekday:
		return c.day <= last && date == nearestWeekdayTo(year, month, c.day)
	case daysOfWeek:
		return c.days.has(weekday)
	case lastWeekdayNamed:
		return weekday == c.day && date+7 > last
	case nthWeekdayNamed:
		return weekday == c.day && (date-1)/7+1 == c.nth
	}
	return false
}

// nearestWeekdayTo returns the Monday-to-Friday date nearest to the given
// date without leaving the month. A Saturday moves to Friday, but Saturday
// the 1st moves to Monday the 3rd. A Sunday moves to Monday, but a Sunday
// that ends the month moves to Friday.
func nearestWeekdayTo(year int, month time.Month, date int) int {
	switch time.Date(year, month, date, 0, 0, 0, 0, time.UTC).Weekday() {
	case time.Saturday:
		if date == 1 {
			return 3
		}
		return date - 1
	case time.Sunday:
		if date == daysIn(year, month) {
			return date - 2
		}
		return date + 1
	}
	return date
}

func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// wallClock returns the wall-clock time hour:minute on the given date, as a
// UTC time with those fields.
func wallClock(day time.Time, hour, minute int) time.Time {
	return day.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

// resolveWall returns the first instant at which the clocks of loc show the
// wall-clock time wall, which is given as a UTC time with the same fields.
// It returns false when loc skips that time, as when daylight saving time
// starts. When clocks go back, it returns the earlier of the two instants.
func resolveWall(wall time.Time, loc *time.Location) (time.Time, bool) {
	var first time.Time
	found := false
	for _, probe := range offsetProbes {
		_, offset := wall.Add(probe).In(loc).Zone()
		candidate := wall.Add(-time.Duration(offset) * time.Second)
		// The candidate shows the wall-clock time only if loc uses the same
		// offset at the candidate itself.
		if _, actual := candidate.In(loc).Zone(); actual != offset {
			continue
		}
		if !found || candidate.Before(first) {
			first, found = candidate, true
		}
	}
	return first, found
}
