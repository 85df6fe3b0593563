package cli

import (
	"os"
	"runtime/debug"
)

// Memory a job needs beyond the process's base: three 8 MiB S3 part
// buffers, the COPY buffers and an SFTP write window, about 27 MiB of live
// heap on a 5 M-row export (measured with GODEBUG=gctrace=1).
const (
	baseMemory   = 8 << 20
	memoryPerJob = 28 << 20
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
