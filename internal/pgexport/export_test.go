package pgexport_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batchport/batchport/internal/pgexport"
	"github.com/batchport/batchport/internal/testenv"
)

// psqlCopy returns what psql's \copy prints for query in CSV with a header,
// the output legacy batches were built on.
func psqlCopy(t *testing.T, databaseURL, query string, options ...string) []byte {
	t.Helper()
	cmd := exec.Command("psql", databaseURL, "-X", "-v", "ON_ERROR_STOP=1", "-c", `\copy (`+query+`) to stdout with (format csv, header)`)
	cmd.Env = append(cmd.Environ(), "PGOPTIONS="+strings.Join(options, " "))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("psql: %v: %s", err, stderr.String())
	}
	return out
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestCopyMatchesPsqlForEdgeValues(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	url := env.NewDatabase(t)
	conn := connect(t, url)
	ctx := testenv.Context(t)
	setup := `CREATE TABLE edge (id int PRIMARY KEY, v text);
		INSERT INTO edge VALUES (1, NULL), (2, ''), (3, '  '), (4, 'NULL'), (5, 'a"b'),
			(6, E'a\nb'), (7, E'a\r\nb'), (8, E'a\rb'), (9, 'say "hi"'), (10, 'x,y'), (11, ' lead'), (12, '=1+1'),
			(13, '山田 髙橋 〜 − ①'), (14, '𠮷😀'), (15, E'\\.'), (16, '\N')`
	if _, err := conn.Exec(ctx, setup); err != nil {
		t.Fatal(err)
	}
	query := "SELECT id, v FROM edge ORDER BY id"

	var got bytes.Buffer
	rows, err := pgexport.Copy(ctx, conn, pgexport.Query{SQL: query + ";\n", Header: true}, &got)
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if rows != 16 {
		t.Errorf("rows = %d, want 16", rows)
	}
	want := psqlCopy(t, url, query)
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("export differs from psql \\copy:\ngot:\n%s\nwant:\n%s", got.Bytes(), want)
	}
	// The cases that matter most, spelled out: NULL is an unquoted empty
	// field, an empty string is "", a bare CR is quoted.
	for _, line := range []string{"1,\n", "2,\"\"\n", "4,NULL\n", "5,\"a\"\"b\"\n", "8,\"a\rb\"\n"} {
		if !bytes.Contains(got.Bytes(), []byte(line)) {
			t.Errorf("export lacks the line %q", line)
		}
	}
}

func TestCopyParamsAndTimeZone(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	conn := connect(t, env.NewDatabase(t))
	ctx := testenv.Context(t)

	query := `SELECT current_setting('batchport.param.day')::date AS day,
		current_setting('batchport.param.note') AS note,
		timestamptz '2026-12-01 00:00:00+00' AS at`
	var got bytes.Buffer
	_, err := pgexport.Copy(ctx, conn, pgexport.Query{
		SQL:      query,
		Params:   map[string]string{"day": "2026-12-01", "note": "x'); DROP TABLE t; --"},
		TimeZone: "Asia/Tokyo",
		Header:   true,
	}, &got)
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	want := "day,note,at\n2026-12-01,x'); DROP TABLE t; --,2026-12-01 09:00:00+09\n"
	if got.String() != want {
		t.Errorf("export = %q, want %q", got.String(), want)
	}
}

func TestCopyIsReadOnlySnapshot(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	conn := connect(t, env.NewDatabase(t))
	ctx := testenv.Context(t)
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, err := pgexport.Copy(ctx, conn, pgexport.Query{SQL: "WITH x AS (INSERT INTO t VALUES (1) RETURNING id) SELECT * FROM x"}, &out)
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("a write in the export = %v, want a read-only transaction error", err)
	}
	var level string
	rows, err := pgexport.Copy(ctx, conn, pgexport.Query{SQL: "SELECT current_setting('transaction_isolation')"}, &out)
	if err != nil || rows != 1 {
		t.Fatalf("Copy: rows %d, %v", rows, err)
	}
	level = strings.TrimSpace(out.String())
	if level != "repeatable read" {
		t.Errorf("isolation = %q, want repeatable read", level)
	}
}

func TestCopyStatementTimeout(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	conn := connect(t, env.NewDatabase(t))
	ctx := testenv.Context(t)
	started := time.Now()
	var out bytes.Buffer
	_, err := pgexport.Copy(ctx, conn, pgexport.Query{SQL: "SELECT pg_sleep(5)", StatementTimeout: 200 * time.Millisecond}, &out)
	if err == nil || !strings.Contains(err.Error(), "statement timeout") {
		t.Fatalf("Copy = %v, want a statement timeout error", err)
	}
	if elapsed := time.Since(started); elapsed > 4*time.Second {
		t.Errorf("the timeout took %s to stop the query", elapsed)
	}
}
