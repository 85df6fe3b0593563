// Package schedule parses EventBridge Scheduler schedule expressions and
// computes their fire times, so that the catalog can validate a job's
// schedule and the command line can show its next runs.
//
// Three forms are accepted, with the syntax of EventBridge Scheduler:
//
//	cron(minutes hours day-of-month month day-of-week year)
//	rate(value unit)                  unit: minute(s), hour(s) or day(s)
//	at(yyyy-mm-ddThh:mm:ss)
//
// Cron fields take "," "-" "*" and "/", day-of-month also "?", "L", "LW" and
// "nW", and day-of-week also "?", "L", "nL" and "n#k". Day-of-week numbers
// run from 1 (Sunday) to 7 (Saturday), and month and day names (JAN-DEC,
// SUN-SAT) are accepted in any case. Exactly one of day-of-month and
// day-of-week must be "?". Years run from 1970 to 2199.
//
// Times are wall-clock times in the schedule's location. When daylight
// saving time starts, a cron time that falls in the skipped hour does not
// fire that day. When it ends, a cron time in the repeated hour fires once,
// at its first occurrence. Both rules are how the AWS knowledge center
// describes EventBridge Scheduler (repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst).
// An at() time in a skipped hour is an error, and one in a repeated hour
// fires at its first occurrence.
//
// EventBridge counts a rate from the schedule's start date, which this
// package does not know, and a day is always 24 hours long. Next for a rate
// is therefore an estimate: the given time plus the interval, truncated to
// the minute.
//
// Some forms that Quartz-style parsers accept are rejected here because the
// EventBridge documentation does not describe them: a range that wraps
// around (write 22-23,0-2 instead of 22-2), "L" with an offset ("L-3"), and
// "W" or "L" inside a list. The documentation itself rejects "#" inside a
// list, such as "3#1,6#3". A step must be smaller than the number of
// values in its field, so minutes take steps of 1 to 59.
package schedule
