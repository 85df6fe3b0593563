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
	client   *sftpdeliver.Client
	upload   *sftpdeliver.Upload
	stop     func()

	// pipe buffers the export for the writing goroutine, so a slow
	// moment of the server does not hold up the COPY at once.
	pipe *bufpipe.Pipe
	done chan struct{}
	// dropped is set by liveWriter, under its lock, once writes to pipe failed.
	dropped bool
	// err is set by the writing goroutine; read it only after done is closed.
	err error
}

// startLiveDeliveries opens a temporary file on every destination not yet
// delivered. A destination that cannot be opened is logged and left to the
// delivery from S3.
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
		l, err := h.startLiveDelivery(ctx, i, delivery)
		if err != nil {
			h.Logger.WarnContext(ctx, "deliver: cannot write during the export, will deliver from S3 after it",
				"run_key", exec.Run.RunKey, "address", delivery.SFTP.Address, "error", err)
			continue
		}
		live = append(live, l)
	}
	return live
}

func (h *SQLExport) startLiveDelivery(ctx context.Context, index int, delivery catalog.Delivery) (*liveDelivery, error) {
	target, err := h.sftpTarget(delivery.SFTP)
	if err != nil {
		return nil, err
	}
	// The export waits for this dial, so a slow server gets a short budget
	// and is delivered from S3 afterwards instead.
	dialCtx, cancelDial := context.WithTimeout(ctx, liveDialTimeout)
	defer cancelDial()
	client, err := sftpdeliver.Dial(dialCtx, target)
	if err != nil {
		return nil, err
	}
	stop := client.CloseOnCancel(ctx)
	upload, err := client.Create(delivery.RemotePath)
	if err != nil {
		stop()
		client.Close()
		return nil, err
	}
	pipe := bufpipe.New(liveBufferSize)
	l := &liveDelivery{index: index, delivery: delivery, client: client, upload: upload, stop: stop,
		pipe: pipe, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		_, l.err = upload.ReadFrom(&firstReadPause{next: pipe})
		if l.err != nil {
			// Later writes fail at once, so a failed destination does not stall the others.
			pipe.CloseRead(l.err)
		}
	}()
	return l, nil
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

// Bounds of a live delivery: the dial before the export starts, and one
// write (about 1 MiB, which waits only while the buffer is full).
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
	l.client.Close()
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
			l.client.Close()
			<-l.done
		}
		l.upload.Abort()
		l.finish()
	}
}

const abortGrace = 5 * time.Second

var errExportFailed = errors.New("the export failed, so its delivery was abandoned")

func (l *liveDelivery) finish() {
	l.stop()
	l.client.Close()
}

// commit renames a live delivery's file into place after the export is
// recorded, checking size, hash (the same stream was hashed for the
// export) and the lease first.
func (h *SQLExport) commitLive(ctx context.Context, exec *Execution, l *liveDelivery, export ExportResult) (DeliverResult, error) {
	defer l.finish()
	if l.err != nil {
		l.upload.Abort()
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
		if err != nil && !errors.Is(err, context.Canceled) {
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
