package cli

import (
	"os"
	"runtime/debug"
)

// Memory a job needs beyond the process's base: three 8 MiB S3 part
// buffers, the COPY buffers, a 4 MiB buffer and the write window of one
// live SFTP delivery, about 30 MiB of live heap on a 5 M-row export
// (measured with GODEBUG=gctrace=1). A job with more destinations needs
// about 4 MiB more for each.
const (
	baseMemory   = 8 << 20
	memoryPerJob = 32 << 20
)

// limitMemory sets the Go runtime's soft memory limit for jobs concurrent
// jobs, unless GOMEMLIMIT sets one. Without a limit the heap grows to twice
// its live size between collections, so peak RSS would grow with the
// export's length. With it, the collector runs before the heap passes the
// limit. The limit is soft: a larger live heap makes the collector work
// harder and does not fail.
func limitMemory(jobs int) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(int64(baseMemory + jobs*memoryPerJob))
}
