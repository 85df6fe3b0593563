package worker

import (
	"log/slog"
	"sync"
	"time"
)

// rateLimitedLog logs the first of a run of repeated errors at once and
// then at most one line per interval, with how many were suppressed.
type rateLimitedLog struct {
	logger     *slog.Logger
	interval   time.Duration
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func newRateLimitedLog(logger *slog.Logger, interval time.Duration) *rateLimitedLog {
	return &rateLimitedLog{logger: logger, interval: interval}
}

func (r *rateLimitedLog) Error(msg string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() && time.Since(r.last) < r.interval {
		r.suppressed++
		return
	}
	if r.suppressed > 0 {
		args = append(args, "suppressed", r.suppressed)
	}
	r.logger.Error(msg, args...)
	r.last = time.Now()
	r.suppressed = 0
}
