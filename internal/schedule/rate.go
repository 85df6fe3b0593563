package schedule

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// rateUnits maps each rate unit, singular and plural, to its length. A day
// is 24 hours, also on days when daylight saving time starts or ends.
var rateUnits = map[string]time.Duration{
	"minute": time.Minute, "minutes": time.Minute,
	"hour": time.Hour, "hours": time.Hour,
	"day": 24 * time.Hour, "days": 24 * time.Hour,
}

// parseRate parses the inside of rate(value unit). EventBridge takes the
// singular unit with the value 1 and the plural unit with any other value.
func parseRate(text string) (time.Duration, error) {
	fields := strings.Fields(text)
	if len(fields) != 2 {
		return 0, fmt.Errorf("rate: expected a value and a unit such as rate(5 minutes), found %d fields", len(fields))
	}
	valueText, unit := fields[0], fields[1]

	value, err := parseNumber(valueText)
	if err != nil || value < 1 {
		return 0, fmt.Errorf("rate: value %s is not a positive whole number", quote(valueText))
	}
	length, ok := rateUnits[unit]
	if !ok {
		return 0, fmt.Errorf(`rate: unknown unit %s (use minute, minutes, hour, hours, day or days)`, quote(unit))
	}

	singular := strings.TrimSuffix(unit, "s")
	switch {
	case value == 1 && unit != singular:
		return 0, fmt.Errorf("rate: value 1 takes the singular unit %q", singular)
	case value != 1 && unit == singular:
		return 0, fmt.Errorf("rate: value %d takes the plural unit %q", value, singular+"s")
	case int64(value) > math.MaxInt64/int64(length):
		return 0, fmt.Errorf("rate: %d %s is longer than this program can represent", value, unit)
	}
	return time.Duration(value) * length, nil
}

// atLayout is the time format inside at(), a wall-clock time without zone.
const atLayout = "2006-01-02T15:04:05"

// parseAt parses the inside of at(yyyy-mm-ddThh:mm:ss) as a wall-clock time
// in loc. A time that loc skips when daylight saving time starts is an error,
// and a time that occurs twice resolves to its first occurrence.
func parseAt(text string, loc *time.Location) (time.Time, error) {
	wall, err := time.Parse(atLayout, text)
	if err != nil {
		return time.Time{}, fmt.Errorf("at: %s is not a time of the form yyyy-mm-ddThh:mm:ss", quote(text))
	}
	instant, ok := resolveWall(wall, loc)
	if !ok {
		return time.Time{}, fmt.Errorf("at: %s does not exist in %s, because the clocks skip it (daylight saving time)", text, loc)
	}
	return instant, nil
}

// parseNumber parses a decimal number of ASCII digits only, without sign.
func parseNumber(text string) (int, error) {
	if text == "" || strings.TrimLeft(text, "0123456789") != "" {
		return 0, fmt.Errorf("%s is not a number", quote(text))
	}
	return strconv.Atoi(text)
}
