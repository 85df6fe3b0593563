package bufpipe

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/synctest"
)

func TestCopyKeepsBytesInOrder(t *testing.T) {
	// A buffer smaller than the writes and odd read sizes make every copy wrap around the ring.
	want := make([]byte, 1<<20)
	random := rand.New(rand.NewPCG(1, 2))
	for i := range want {
		want[i] = byte(random.Uint32())
	}
	pipe := New(4099)
	go func() {
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 1+random.IntN(10000))
			if _, err := pipe.Write(rest[:n]); err != nil {
				t.Errorf("write: %v", err)
				return
			}
			rest = rest[n:]
		}
		pipe.CloseWrite(nil)
	}()

	var got bytes.Buffer
	chunk := make([]byte, 3001)
	if _, err := io.CopyBuffer(&got, struct{ io.Reader }{pipe}, chunk); err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("read %d bytes that differ from the %d written", got.Len(), len(want))
	}
}

func TestWriteReturnsBeforeRead(t *testing.T) {
	pipe := New(8)
	n, err := pipe.Write([]byte("12345678"))
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	if n != 8 {
		t.Fatalf("wrote %d bytes, want 8", n)
	}
}

func TestWriteWaitsWhileFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pipe := New(4)
		written := make(chan error)
		go func() {
			_, err := pipe.Write([]byte("123456"))
			written <- err
		}()
		synctest.Wait()
		select {
		case err := <-written:
			t.Fatalf("write of 6 bytes into a 4-byte buffer returned without a read: %v", err)
		default:
		}

		got := make([]byte, 4)
		if n, _ := pipe.Read(got); string(got[:n]) != "1234" {
			t.Fatalf("first read = %q, want %q", got[:n], "1234")
		}
		if err := <-written; err != nil {
			t.Fatalf("write: %v", err)
		}
		if n, _ := pipe.Read(got); string(got[:n]) != "56" {
			t.Fatalf("second read = %q, want %q", got[:n], "56")
		}
	})
}

func TestReaderGetsWriterErrorAfterData(t *testing.T) {
	pipe := New(16)
	cause := errors.New("export failed")
	if _, err := pipe.Write([]byte("abc")); err != nil {
		t.Fatalf("write: %v", err)
	}
	pipe.CloseWrite(cause)

	got := make([]byte, 16)
	n, err := pipe.Read(got)
	if string(got[:n]) != "abc" || err != nil {
		t.Fatalf("first read = %q, %v; want %q, nil", got[:n], err, "abc")
	}
	if _, err := pipe.Read(got); !errors.Is(err, cause) {
		t.Fatalf("read after close = %v, want %v", err, cause)
	}
	if _, err := pipe.Write([]byte("d")); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close = %v, want %v", err, ErrClosed)
	}
}

func TestCloseReadFailsWaitingWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pipe := New(2)
		cause := errors.New("sftp server gone")
		written := make(chan error)
		go func() {
			_, err := pipe.Write([]byte("12345"))
			written <- err
		}()
		synctest.Wait()
		pipe.CloseRead(cause)
		if err := <-written; !errors.Is(err, cause) {
			t.Fatalf("waiting write = %v, want %v", err, cause)
		}
		if _, err := pipe.Write([]byte("6")); !errors.Is(err, cause) {
			t.Fatalf("later write = %v, want %v", err, cause)
		}
	})
}

func TestCloseWriteWakesWaitingReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pipe := New(4)
		read := make(chan error)
		go func() {
			_, err := pipe.Read(make([]byte, 4))
			read <- err
		}()
		synctest.Wait()
		pipe.CloseWrite(nil)
		if err := <-read; !errors.Is(err, io.EOF) {
			t.Fatalf("read = %v, want io.EOF", err)
		}
	})
}
