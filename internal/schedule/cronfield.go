package schedule

import (
	"fmt"
	"math/bits"
	"strings"
)

// fieldSpec describes one cron field: its name in errors, its value range
// and the names that may replace numbers.
type fieldSpec struct {
	name     string
	min, max int
	names    []string // names[i] means min+i
}

var (
	minutesField    = fieldSpec{name: "minutes", min: 0, max: 59}
	hoursField      = fieldSpec{name: "hours", min: 0, max: 23}
	dayOfMonthField = fieldSpec{name: "day-of-month", min: 1, max: 31}
	monthField      = fieldSpec{name: "month", min: 1, max: 12, names: []string{
		"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
	}}
	dayOfWeekField = fieldSpec{name: "day-of-week", min: 1, max: 7, names: []string{
		"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT",
	}}
	yearField = fieldSpec{name: "year", min: 1970, max: 2199}
)

// valueSet is a set of field values, stored as bits counted from the
// field's minimum. 256 bits hold the 230 years of the widest field.
type valueSet struct {
	min  int
	bits [4]uint64
}

func (s *valueSet) add(value int) {
	i := value - s.min
	s.bits[i/64] |= 1 << (i % 64)
}

func (s valueSet) has(value int) bool {
	i := value - s.min
	if i < 0 || i >= 256 {
		return false
	}
	return s.bits[i/64]&(1<<(i%64)) != 0
}

// values returns the members of the set in ascending order.
func (s valueSet) values() []int {
	var values []int
	for word, set := range s.bits {
		for set != 0 {
			i := bits.TrailingZeros64(set)
			values = append(values, s.min+word*64+i)
			set &= set - 1
		}
	}
	return values
}

// parseList parses a comma-separated list of the items "*", "v", "a-b",
// "*/step", "a/step" and "a-b/step" into the set of values it selects.
func parseList(text string, spec fieldSpec) (valueSet, error) {
	set := valueSet{min: spec.min}
	for item := range strings.SplitSeq(text, ",") {
		if item == "" {
			return valueSet{}, fmt.Errorf("%s: empty item in list %s", spec.name, quote(text))
		}
		if err := addItem(&set, item, spec); err != nil {
			return valueSet{}, err
		}
	}
	return set, nil
}

func addItem(set *valueSet, item string, spec fieldSpec) error {
	base, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		var err error
		step, err = parseNumber(stepText)
		if err != nil {
			return fmt.Errorf("%s: step %s is not a number", spec.name, quote(stepText))
		}
		if maxStep := spec.max - spec.min; step < 1 || step > maxStep {
			return fmt.Errorf("%s: step %d out of range 1-%d", spec.name, step, maxStep)
		}
	}

	first, last, err := parseRange(base, spec)
	if err != nil {
		return err
	}
	if hasStep && base != "*" && !strings.Contains(base, "-") {
		last = spec.max // "a/step" runs from a to the end of the field
	}
	for value := first; value <= last; value += step {
		set.add(value)
	}
	return nil
}

// parseRange parses "*", "v" or "a-b" into its first and last value.
func parseRange(text string, spec fieldSpec) (first, last int, err error) {
	if text == "*" {
		return spec.min, spec.max, nil
	}
	firstText, lastText, isRange := strings.Cut(text, "-")
	if first, err = parseValue(firstText, spec); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return first, first, nil
	}
	if last, err = parseValue(lastText, spec); err != nil {
		return 0, 0, err
	}
	if first > last {
		return 0, 0, fmt.Errorf("%s: range %s runs backwards, so split it in two such as %d-%d,%d-%d",
			spec.name, quote(text), first, spec.max, spec.min, last)
	}
	return first, last, nil
}

// parseValue parses a number or, for month and day-of-week, a name such as
// JAN or MON in any case.
func parseValue(text string, spec fieldSpec) (int, error) {
	for i, name := range spec.names {
		if strings.EqualFold(text, name) {
			return spec.min + i, nil
		}
	}
	value, err := parseNumber(text)
	if err != nil {
		if len(spec.names) > 0 {
			return 0, fmt.Errorf("%s: invalid value %s (use %d-%d or %s-%s)", spec.name, quote(text),
				spec.min, spec.max, spec.names[0], spec.names[len(spec.names)-1])
		}
		return 0, fmt.Errorf("%s: invalid value %s (use %d-%d)", spec.name, quote(text), spec.min, spec.max)
	}
	if value < spec.min || value > spec.max {
		return 0, fmt.Errorf("%s: value %d out of range %d-%d", spec.name, value, spec.min, spec.max)
	}
	return value, nil
}
