package cli

import (
	"os"
	"runtime"
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

// limitRuntime sizes the Go runtime for jobs concurrent jobs: its memory
// limit and its processors.
func limitRuntime(jobs int) {
	limitMemory(jobs)
	limitProcessors(jobs)
}

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

// limitProcessors sets GOMAXPROCS to at most one per concurrent job, unless
// GOMAXPROCS is set. A job is a chain of goroutines that hand buffers on
// (COPY, S3 parts, SFTP writers), and on more processors than jobs each
// handoff wakes another thread. Measured on 2 cores, a 5 M-row export took
// 2.9 s on one processor and 3.3 s on two. It used 1.3 s of CPU for 488 MB,
// so one processor moves more than the 220 MB/s that PostgreSQL's COPY sent.
func limitProcessors(jobs int) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	runtime.GOMAXPROCS(min(runtime.GOMAXPROCS(0), jobs))
}
