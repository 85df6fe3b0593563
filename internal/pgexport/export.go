// Package pgexport streams the result of a query as CSV with PostgreSQL's
// own COPY, inside one read-only snapshot.
package pgexport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Query is one export: the SQL text and the settings it runs under.
type Query struct {
	// SQL is a single SELECT (a trailing semicolon is allowed).
	SQL string
	// Params reach SQL only as current_setting('batchport.param.NAME'),
	// never as text spliced into the statement.
	Params map[string]string
	// TimeZone is the session TimeZone, which sets how timestamptz values print.
	TimeZone string
	// StatementTimeout stops the COPY after this long; zero means no limit.
	StatementTimeout time.Duration
	// Header writes the column names as the first line.
	Header bool
}

// writeBufferSize batches COPY's one-row messages into large writes, so the
// writer downstream (a pipe to the uploader) is called once per buffer, not per row.
const writeBufferSize = 1 << 20

var paramNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Copy runs q in a REPEATABLE READ READ ONLY transaction on conn and writes
// its CSV to w. It returns the row count from COPY's command tag.
func Copy(ctx context.Context, conn *pgx.Conn, q Query, w io.Writer) (rows int64, err error) {
	statement, err := copyStatement(q)
	if err != nil {
		return 0, err
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, fmt.Errorf("starting export transaction: %w", err)
	}
	// The transaction only reads, so ending it with a rollback loses nothing.
	defer func() {
		if rollbackErr := tx.Rollback(context.WithoutCancel(ctx)); rollbackErr != nil && !errors.Is(rollbackErr, pgx.ErrTxClosed) && err == nil {
			err = fmt.Errorf("ending export transaction: %w", rollbackErr)
		}
	}()
	if err := applySettings(ctx, tx, q); err != nil {
		return 0, err
	}

	buffered := bufio.NewWriterSize(w, writeBufferSize)
	tag, err := tx.Conn().PgConn().CopyTo(ctx, buffered, statement)
	if err != nil {
		return 0, fmt.Errorf("running export COPY: %w", err)
	}
	if err := buffered.Flush(); err != nil {
		return 0, fmt.Errorf("writing export: %w", err)
	}
	return tag.RowsAffected(), nil
}

// applySettings sets the statement timeout, time zone and params for this
// transaction only (set_config's third argument, is_local, is true).
func applySettings(ctx context.Context, tx pgx.Tx, q Query) error {
	settings := map[string]string{"statement_timeout": fmt.Sprintf("%dms", q.StatementTimeout.Milliseconds())}
	if q.TimeZone != "" {
		settings["TimeZone"] = q.TimeZone
	}
	for name, value := range q.Params {
		if !paramNamePattern.MatchString(name) {
			return fmt.Errorf("param name %q is invalid: use a-z, 0-9 and _", name)
		}
		settings["batchport.param."+name] = value
	}
	names := make([]string, 0, len(settings))
	for name := range settings {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, err := tx.Exec(ctx, "select set_config($1, $2, true)", name, settings[name]); err != nil {
			return fmt.Errorf("setting %s for the export: %w", name, err)
		}
	}
	return nil
}

// copyStatement wraps the query in COPY. The query text comes from the job
// catalog, which is reviewed code; only params come from messages. A second
// statement inside COPY's parentheses is a syntax error in PostgreSQL.
func copyStatement(q Query) (string, error) {
	sql := strings.TrimSpace(q.SQL)
	sql = strings.TrimSpace(strings.TrimSuffix(sql, ";"))
	if sql == "" {
		return "", errors.New("export query is empty")
	}
	header := "false"
	if q.Header {
		header = "true"
	}
	return fmt.Sprintf("COPY (%s\n) TO STDOUT WITH (FORMAT csv, HEADER %s)", sql, header), nil
}
