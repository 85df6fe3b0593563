// Package bufpipe is an in-memory pipe with a fixed-size buffer. Unlike
// io.Pipe, a write returns once its bytes are copied into the buffer, so the
// writer does not wait for the reader unless the reader is a full buffer behind.
package bufpipe

import (
	"errors"
	"io"
	"sync"
)

// ErrClosed is returned by a write after the write side was closed.
var ErrClosed = errors.New("write on a closed pipe")

// Pipe is a ring buffer shared by one writing and one reading goroutine.
type Pipe struct {
	mu       sync.Mutex
	readable sync.Cond
	writable sync.Cond
	buf      []byte
	start    int // index of the first buffered byte
	length   int // number of buffered bytes
	// writeErr is set when the write side closes: io.EOF, or the writer's error.
	writeErr error
	// readErr is set when the read side closes, and later writes return it.
	readErr error
}

// New returns a pipe that buffers up to size bytes.
func New(size int) *Pipe {
	p := &Pipe{buf: make([]byte, size)}
	p.readable.L = &p.mu
	p.writable.L = &p.mu
	return p
}

// Write copies b into the buffer, waiting for space while it is full. It
// fails once the read side is closed, with the reader's error.
func (p *Pipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	written := 0
	for written < len(b) {
		if p.readErr != nil {
			return written, p.readErr
		}
		if p.writeErr != nil {
			return written, ErrClosed
		}
		if p.length == len(p.buf) {
			p.writable.Wait()
			continue
		}
		end := (p.start + p.length) % len(p.buf)
		free := len(p.buf) - p.length
		if end+free > len(p.buf) {
			free = len(p.buf) - end // copy up to the end of the ring, then wrap
		}
		n := copy(p.buf[end:end+free], b[written:])
		p.length += n
		written += n
		p.readable.Signal()
	}
	return written, nil
}

// Read copies buffered bytes into b, waiting while the buffer is empty.
// After the write side is closed it returns the remaining bytes, then
// io.EOF or the writer's error.
func (p *Pipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.length == 0 {
		if p.readErr != nil {
			return 0, io.ErrClosedPipe
		}
		if p.writeErr != nil {
			return 0, p.writeErr
		}
		p.readable.Wait()
	}
	n := copy(b, p.buf[p.start:min(p.start+p.length, len(p.buf))])
	p.start = (p.start + n) % len(p.buf)
	p.length -= n
	p.writable.Signal()
	return n, nil
}

// CloseWrite closes the write side: the reader gets io.EOF, or err if it
// is not nil, after the buffered bytes.
func (p *Pipe) CloseWrite(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.writeErr != nil {
		return
	}
	if err == nil {
		err = io.EOF
	}
	p.writeErr = err
	p.readable.Broadcast()
}

// CloseRead closes the read side, so a waiting write and every later one fail with err.
func (p *Pipe) CloseRead(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.readErr != nil {
		return
	}
	if err == nil {
		err = io.ErrClosedPipe
	}
	p.readErr = err
	p.writable.Broadcast()
	p.readable.Broadcast()
}
