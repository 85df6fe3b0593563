package schedule

import (
	"errors"
	"fmt"
	"strings"
)

// dayRule is how a cron expression selects days, from whichever of
// day-of-month and day-of-week is not "?".
type dayRule int

const (
	daysOfMonth        dayRule = iota + 1 // the days in cronSpec.days
	lastDayOfMonth                        // L
	lastWeekdayOfMonth                    // LW
	nearestWeekday                        // nW: the weekday nearest to day n
	daysOfWeek                            // the weekdays in cronSpec.days
	lastWeekdayNamed                      // dL: the last weekday d of the month
	nthWeekdayNamed                       // d#k: the k-th weekday d of the month
)

// cronSpec is a parsed cron expression. Weekdays are numbered as in
// EventBridge, 1 (Sunday) to 7 (Saturday).
type cronSpec struct {
	minutes []int
	hours   []int
	months  valueSet
	years   valueSet

	rule dayRule
	days valueSet // for daysOfMonth and daysOfWeek
	day  int      // the n of nW, or the weekday d of dL and d#k
	nth  int      // the k of d#k
}

// parseCron parses the inside of cron(...).
func parseCron(text string) (*cronSpec, error) {
	fields := strings.Fields(text)
	if len(fields) != 6 {
		return nil, fmt.Errorf("cron: expected 6 fields (minutes hours day-of-month month day-of-week year), found %d", len(fields))
	}
	if err := checkDayFields(fields[2], fields[4]); err != nil {
		return nil, err
	}

	spec := &cronSpec{}
	minutes, err := parseList(fields[0], minutesField)
	if err != nil {
		return nil, fmt.Errorf("cron: %w", err)
	}
	hours, err := parseList(fields[1], hoursField)
	if err != nil {
		return nil, fmt.Errorf("cron: %w", err)
	}
	spec.minutes, spec.hours = minutes.values(), hours.values()
	if spec.months, err = parseList(fields[3], monthField); err != nil {
		return nil, fmt.Errorf("cron: %w", err)
	}
	if spec.years, err = parseList(fields[5], yearField); err != nil {
		return nil, fmt.Errorf("cron: %w", err)
	}

	if fields[4] == "?" {
		err = spec.parseDayOfMonth(fields[2])
	} else {
		err = spec.parseDayOfWeek(fields[4])
	}
	if err != nil {
		return nil, fmt.Errorf("cron: %w", err)
	}
	return spec, nil
}

// checkDayFields enforces the EventBridge rule that exactly one of
// day-of-month and day-of-week is "?".
func checkDayFields(dayOfMonth, dayOfWeek string) error {
	switch {
	case dayOfMonth == "?" && dayOfWeek == "?":
		return errors.New(`cron: day-of-month and day-of-week cannot both be "?", so set one of them`)
	case dayOfMonth != "?" && dayOfWeek != "?":
		return fmt.Errorf(`cron: day-of-month %s and day-of-week %s cannot both be set, so one of them must be "?"`,
			quote(dayOfMonth), quote(dayOfWeek))
	}
	return nil
}

// parseDayOfMonth parses a day-of-month list, "L", "LW" or "nW".
func (c *cronSpec) parseDayOfMonth(text string) error {
	upper := strings.ToUpper(text)
	switch {
	case upper == "L":
		c.rule = lastDayOfMonth
	case upper == "LW":
		c.rule = lastWeekdayOfMonth
	case strings.ContainsAny(upper, "LW"):
		day, ok := strings.CutSuffix(upper, "W")
		if !ok || strings.ContainsAny(day, "L,-/*") {
			return fmt.Errorf(`day-of-month: invalid value %s (use "L", "LW" or one day followed by W, such as "15W", alone in the field)`, quote(text))
		}
		value, err := parseValue(day, dayOfMonthField)
		if err != nil {
			return err
		}
		c.rule, c.day = nearestWeekday, value
	default:
		days, err := parseList(text, dayOfMonthField)
		if err != nil {
			return err
		}
		c.rule, c.days = daysOfMonth, days
	}
	return nil
}

// parseDayOfWeek parses a day-of-week list, "L", "dL" or "d#k". Alone, "L"
// is the last day of the week, Saturday, as in EventBridge and Quartz.
func (c *cronSpec) parseDayOfWeek(text string) error {
	upper := strings.ToUpper(text)
	switch {
	case upper == "L":
		c.rule = daysOfWeek
		c.days = valueSet{min: dayOfWeekField.min}
		c.days.add(dayOfWeekField.max)
	case strings.Contains(upper, "#"):
		return c.parseNthWeekday(text)
	case strings.Contains(upper, "L"):
		day, ok := strings.CutSuffix(upper, "L")
		if !ok || strings.ContainsAny(day, "L,-/*") {
			return fmt.Errorf(`day-of-week: invalid value %s (use "L" or one day followed by L, such as "6L", alone in the field)`, quote(text))
		}
		value, err := parseValue(day, dayOfWeekField)
		if err != nil {
			return err
		}
		c.rule, c.day = lastWeekdayNamed, value
	default:
		days, err := parseList(text, dayOfWeekField)
		if err != nil {
			return err
		}
		c.rule, c.days = daysOfWeek, days
	}
	return nil
}

// parseNthWeekday parses "d#k", the k-th weekday d of the month, such as
// "2#1" for the first Monday. EventBridge allows only one such item.
func (c *cronSpec) parseNthWeekday(text string) error {
	dayText, nthText, _ := strings.Cut(text, "#")
	if strings.ContainsAny(strings.ToUpper(text), ",-/*L") || strings.Contains(nthText, "#") {
		return fmt.Errorf(`day-of-week: invalid value %s (use one day and week joined by "#", such as "2#1", alone in the field)`, quote(text))
	}
	day, err := parseValue(dayText, dayOfWeekField)
	if err != nil {
		return err
	}
	nth, err := parseNumber(nthText)
	if err != nil || nth < 1 || nth > 5 {
		return fmt.Errorf("day-of-week: week %s in %s out of range 1-5", quote(nthText), quote(text))
	}
	c.rule, c.day, c.nth = nthWeekdayNamed, day, nth
	return nil
}
