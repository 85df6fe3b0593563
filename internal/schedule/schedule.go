package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the form of a schedule expression.
type Kind int

// The forms of a schedule expression.
const (
	KindCron Kind = iota + 1
	KindRate
	KindAt
)

func (k Kind) String() string {
	switch k {
	case KindCron:
		return "cron"
	case KindRate:
		return "rate"
	case KindAt:
		return "at"
	default:
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
}

// Schedule is a parsed schedule expression with the time zone in which it is
// evaluated. It is immutable and safe for concurrent use.
type Schedule struct {
	expression string
	kind       Kind
	location   *time.Location

	cron     *cronSpec     // for KindCron
	interval time.Duration // for KindRate
	at       time.Time     // for KindAt
}

// Parse parses an EventBridge Scheduler expression such as
// "cron(30 3 * * ? *)", "rate(5 minutes)" or "at(2026-12-24T09:00:00)".
// Cron and at() times are wall-clock times in loc. A nil loc means UTC,
// the EventBridge default. The error names the field and the rule broken.
func Parse(expr string, loc *time.Location) (*Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	s, err := parse(strings.TrimSpace(expr), loc)
	if err != nil {
		return nil, fmt.Errorf("parsing schedule %s: %w", quote(expr), err)
	}
	return s, nil
}

func parse(expr string, loc *time.Location) (*Schedule, error) {
	if err := checkASCII(expr); err != nil {
		return nil, err
	}

	s := &Schedule{expression: expr, location: loc}
	var err error
	switch {
	case hasForm(expr, "cron"):
		s.kind = KindCron
		s.cron, err = parseCron(inner(expr, "cron"))
	case hasForm(expr, "rate"):
		s.kind = KindRate
		s.interval, err = parseRate(inner(expr, "rate"))
	case hasForm(expr, "at"):
		s.kind = KindAt
		s.at, err = parseAt(inner(expr, "at"), loc)
	default:
		err = errors.New(`expected cron(...), rate(...) or at(...)`)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Next returns the first fire time strictly after the given time, in the
// schedule's location. It returns false when there is none: an at() time
// that has passed, or a cron expression whose years have all passed or whose
// days never occur (such as February 30). For a rate, the result is an
// estimate, because EventBridge counts a rate from the schedule's start date.
func (s *Schedule) Next(after time.Time) (time.Time, bool) {
	var next time.Time
	var ok bool
	switch s.kind {
	case KindCron:
		next, ok = s.cron.next(after, s.location)
	case KindRate:
		next, ok = after.Add(s.interval).Truncate(time.Minute), true
	case KindAt:
		next, ok = s.at, s.at.After(after)
	}
	if !ok {
		return time.Time{}, false
	}
	return next.In(s.location), true
}

// Kind returns the form of the expression.
func (s *Schedule) Kind() Kind { return s.kind }

// Location returns the time zone in which the expression is evaluated.
func (s *Schedule) Location() *time.Location { return s.location }

// String returns the expression as parsed, without surrounding spaces.
func (s *Schedule) String() string { return s.expression }

func hasForm(expr, name string) bool {
	return strings.HasPrefix(expr, name+"(") && strings.HasSuffix(expr, ")")
}

func inner(expr, name string) string {
	return expr[len(name)+1 : len(expr)-1]
}

// checkASCII rejects any byte other than printable ASCII and tab, which no
// schedule expression contains.
func checkASCII(expr string) error {
	for i := 0; i < len(expr); i++ {
		if c := expr[i]; (c < ' ' || c > '~') && c != '\t' {
			return fmt.Errorf("the byte at offset %d is %#02x, but a schedule expression is printable ASCII", i, c)
		}
	}
	return nil
}

// quote returns text as a Go string literal of at most 64 characters, so
// that an error never echoes a large input.
func quote(text string) string {
	const maxChars = 64
	if utf8.RuneCountInString(text) > maxChars {
		text = string([]rune(text)[:maxChars]) + "…"
	}
	return strconv.Quote(text)
}
