package pgexport

import (
	"bufio"
	"io"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// readBufferSize is the read buffer in front of the connection. pgx reads
// 8 KiB at a time, which costs one system call per 8 KiB of COPY output.
const readBufferSize = 256 << 10

// NewFrontend is a pgconn.BuildFrontendFunc that reads the server's
// messages through a readBufferSize buffer.
var NewFrontend pgconn.BuildFrontendFunc = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
	return pgproto3.NewFrontend(bufio.NewReaderSize(r, readBufferSize), w)
}
