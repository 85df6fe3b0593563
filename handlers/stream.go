package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/batchport/batchport/internal/bufpipe"
	"github.com/batchport/batchport/internal/catalog"
	"github.com/batchport/batchport/internal/failpoint"
	"github.com/batchport/batchport/internal/sftpdeliver"
)

// liveDelivery writes the export to one SFTP destination while it streams
// into S3, so the first attempt does not read the object back. The file
// keeps its temporary name until the S3 upload is complete and recorded:
// S3 stays the snapshot of record, and the rename comes only after it.
// Any failure here leaves the delivery to the usual path, which streams
// the recorded S3 object.
type liveDelivery struct {
	index    int
	delivery catalog.Delivery

	// pipe buffers the export for the writing goroutine, so a slow
	// moment of the server does not hold up the COPY at once.
	pipe *bufpipe.Pipe
	done chan struct{}
	// abandoned is cancelled to give up the delivery. Cancelling it ends a
	// dial in progress and closes the connection.
	abandoned  context.Context
	abandonNow context.CancelFunc
	// dropped is set by liveWriter, under its lock, once writes to pipe failed.
	dropped bool

	// Set by the writing goroutine; read them only after done is closed.
	client *sftpdeliver.Client
	upload *sftpdeliver.Upload
	stop   func()
	err    error
}

// startLiveDeliveries starts a writing goroutine for every destination not
// yet delivered. Each dials its server while the COPY starts, and the
// export's first bytes wait in its buffer meanwhile. A destination that
// cannot be opened is left to the delivery from S3.
func (h *SQLExport) startLiveDeliveries(ctx context.Context, exec *Execution) []*liveDelivery {
	if exec.NoDeliver {
		return nil
	}
	var live []*liveDelivery
	for i, delivery := range exec.Run.Deliveries {
		var previous DeliverResult
		if done, err := exec.Steps.Done(DeliverStep(i), &previous); err != nil || done {
			continue
		}
		target, err := h.sftpTarget(delivery.SFTP)
		if err != nil {
			h.Logger.WarnContext(ctx, "deliver: cannot write during the export, will deliver from S3 after it",
				"run_key", exec.Run.RunKey, "address", delivery.SFTP.Address, "error", err)
			continue
		}
		live = append(live, startLiveDelivery(ctx, i, delivery, target))
	}
	return live
}

func startLiveDelivery(ctx context.Context, index int, delivery catalog.Delivery, target sftpdeliver.Target) *liveDelivery {
	abandoned, abandonNow := context.WithCancel(context.Background())
	l := &liveDelivery{index: index, delivery: delivery, pipe: bufpipe.New(liveBufferSize), done: make(chan struct{}),
		abandoned: abandoned, abandonNow: abandonNow}
	go func() {
		defer close(l.done)
		if l.err = l.open(ctx, target); l.err == nil {
			_, l.err = l.upload.ReadFrom(&firstReadPause{next: l.pipe})
		}
		if l.err != nil {
			// Later writes fail at once, so a failed destination does not stall the others.
			l.pipe.CloseRead(l.err)
		}
	}()
	return l
}

// open dials the server and creates the temporary file. The export writes
// to the buffer meanwhile, and waits for this dial once the buffer is full,
// so a slow server gets a short budget and is delivered from S3 afterwards instead.
func (l *liveDelivery) open(ctx context.Context, target sftpdeliver.Target) error {
	dialCtx, cancelDial := context.WithTimeout(ctx, liveDialTimeout)
	defer cancelDial()
	stopDialing := context.AfterFunc(l.abandoned, cancelDial)
	client, err := sftpdeliver.Dial(dialCtx, target)
	stopDialing()
	if err != nil {
		return err
	}
	l.client = client
	closeOnAbandon := context.AfterFunc(l.abandoned, func() { client.Close() })
	stopOnCancel := client.CloseOnCancel(ctx)
	l.stop = func() {
		closeOnAbandon()
		stopOnCancel()
	}
	l.upload, err = client.Create(l.delivery.RemotePath)
	return err
}

// liveWriter fans the export out to the live deliveries. A destination that
// fails is dropped from the fan-out; its write error never fails the export.
type liveWriter struct {
	mu   sync.Mutex
	live []*liveDelivery
}

func (w *liveWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.live {
		if l.dropped {
			continue
		}
		// A server that stops taking data must not hold up the COPY and
		// the backup: after liveStallTimeout the destination is dropped.
		watchdog := time.AfterFunc(liveStallTimeout, l.abandon)
		_, err := l.pipe.Write(p)
		watchdog.Stop()
		if err != nil {
			l.dropped = true // the goroutine failed or was abandoned; its error is in l.err
		}
	}
	return len(p), nil
}

// Bounds of a live delivery: the dial, which the export waits for once the
// buffer is full, and one write (about 1 MiB, which waits only while the
// buffer is full).
const (
	liveDialTimeout  = 10 * time.Second
	liveStallTimeout = 15 * time.Second
)

// liveBufferSize is each live delivery's buffer: the memory one destination
// adds to a job.
const liveBufferSize = 4 << 20

var errStalled = fmt.Errorf("the SFTP server took no data for %s during the export", liveStallTimeout)

// abandon gives up a stalled live delivery: the pending write fails, and
// closing the connection ends the requests that the server left without a response.
func (l *liveDelivery) abandon() {
	l.pipe.CloseRead(errStalled)
	l.abandonNow()
}

// closeAll ends every live delivery's input, with cause (nil for a complete export).
// NOTE: the wait for each delivery to drain its buffer (up to liveBufferSize)
// and its last acknowledgements has no stall watchdog: a server that stops
// reading here holds the export until the job's timeout cancels it.
func (w *liveWriter) closeAll(cause error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.live {
		l.pipe.CloseWrite(cause)
		<-l.done
	}
}

// abortAll removes every live delivery's temporary file and closes its
// connection. The export may have failed before it wrote anything, so each
// delivery's input is closed first, which ends its writing goroutine. A
// goroutine stuck on a server that stopped responding is cut off with the
// connection after abortGrace.
func abortAll(live []*liveDelivery) {
	for _, l := range live {
		l.pipe.CloseWrite(errExportFailed)
		select {
		case <-l.done:
		case <-time.After(abortGrace):
			l.abandonNow()
			<-l.done
		}
		if l.upload != nil {
			l.upload.Abort()
		}
		l.finish()
	}
}

const abortGrace = 5 * time.Second

var errExportFailed = errors.New("the export failed, so its delivery was abandoned")

// finish closes the connection, if the goroutine opened one. Call it after done is closed.
func (l *liveDelivery) finish() {
	if l.client != nil {
		l.stop()
		l.client.Close()
	}
	l.abandonNow()
}

// commit renames a live delivery's file into place after the export is
// recorded, checking size, hash (the same stream was hashed for the
// export) and the lease first.
func (h *SQLExport) commitLive(ctx context.Context, exec *Execution, l *liveDelivery, export ExportResult) (DeliverResult, error) {
	defer l.finish()
	if l.err != nil {
		if l.upload != nil {
			l.upload.Abort()
		}
		return DeliverResult{}, l.err
	}
	started := time.Now()
	if err := l.upload.Commit(export.Bytes, func() error { return exec.Steps.CheckLease(ctx) }); err != nil {
		return DeliverResult{}, err
	}
	failpoint.Pause(failpoint.DeliverRenamed)
	h.Logger.InfoContext(ctx, "deliver: file in place", "run_key", exec.Run.RunKey, "address", l.delivery.SFTP.Address, "remote_path", l.delivery.RemotePath,
		"bytes", export.Bytes, "written_during_export", true, "duration_ms", time.Since(started).Milliseconds())
	return DeliverResult{Address: l.delivery.SFTP.Address, RemotePath: l.delivery.RemotePath, Bytes: export.Bytes, SHA256: export.SHA256}, nil
}

// finishLiveDeliveries commits each live delivery and records it. One that
// fails is logged and left for deliverOnce, which streams from S3.
func (h *SQLExport) finishLiveDeliveries(ctx context.Context, exec *Execution, live []*liveDelivery, export ExportResult) {
	for _, l := range live {
		result, err := h.commitLive(ctx, exec, l, export)
		if err == nil {
			err = exec.Steps.Record(ctx, DeliverStep(l.index), result)
		}
		switch {
		case err == nil || errors.Is(err, context.Canceled):
		case l.upload == nil:
			h.Logger.WarnContext(ctx, "deliver: cannot write during the export, will deliver from S3 after it",
				"run_key", exec.Run.RunKey, "address", l.delivery.SFTP.Address, "error", fmt.Sprint(err))
		default:
			h.Logger.WarnContext(ctx, "deliver: the file written during the export was not put in place, will deliver from S3",
				"run_key", exec.Run.RunKey, "address", l.delivery.SFTP.Address, "error", fmt.Sprint(err))
		}
	}
}

// firstReadPause stops at the deliver.write failpoint once the temporary
// file has received its first bytes.
type firstReadPause struct {
	next  io.Reader
	reads int
}

func (r *firstReadPause) Read(p []byte) (int, error) {
	if r.reads++; r.reads == 2 {
		failpoint.Pause(failpoint.DeliverWrite)
	}
	return r.next.Read(p)
}
