// Package messages defines the batchport job message, version 1, and decodes
// queue message bodies into it.
//
// A body is JSON in UTF-8, at most [MaxBodyBytes] long, in one of these shapes:
//
//   - the message itself, an object with a top-level "version" field. The
//     templated input of an EventBridge Scheduler target is this shape once the
//     scheduler has substituted its placeholders;
//   - an EventBridge event, an object with "detail-type" and "detail" fields,
//     whose "detail" is the message. When the message has no "scheduled_for",
//     the event's "time" becomes [Message.ScheduledFor].
//
// Decoding is strict because a typo must not pass as a valid run: unknown or
// duplicate fields, wrong JSON types and trailing data are errors. Every error
// that [Decode], [Encode] and [Message.Validate] return for bad input wraps
// [ErrInvalid], so a worker can treat it as a permanent failure. Error texts
// name the field and the rule, and quote at most 64 characters of any value.
//
// [Schema] is the JSON Schema (draft 2020-12) that documents version 1 for
// people and tools outside this program.
//
// The package imports no AWS code, so the command line and tests can build
// messages without a queue.
package messages
