package pgexport_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batchport/batchport/internal/pgexport"
	"github.com/batchport/batchport/internal/testenv"
)

func TestCopyCancelledLeavesNoQuery(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	url := env.NewDatabase(t)
	ctx := testenv.Context(t)
	const marker = "cancelled_copy_marker"

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	copyCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	query := "SELECT g AS " + marker + ", md5(g::text) FROM generate_series(1, 5000000) g"
	_, err = pgexport.Copy(copyCtx, conn, pgexport.Query{SQL: query, Header: true}, io.Discard)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Copy = %v, want a cancelled export", err)
	}
	if !conn.IsClosed() {
		t.Error("the connection of a cancelled COPY is still open; it must not be reused")
	}
	conn.Close(ctx)

	observer := connect(t, url)
	testenv.WaitFor(t, 5*time.Second, "the cancelled COPY to leave pg_stat_activity", func() bool {
		var running int
		err := observer.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%"+marker+"%' AND pid <> pg_backend_pid()").Scan(&running)
		return err == nil && running == 0
	})

	// Five exports at once, on five new connections, all succeed.
	var wg sync.WaitGroup
	errs := make([]error, 5)
	rows := make([]int64, 5)
	for i := range 5 {
		wg.Go(func() {
			c, err := pgx.Connect(ctx, url)
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close(ctx)
			rows[i], errs[i] = pgexport.Copy(ctx, c, pgexport.Query{SQL: "SELECT g FROM generate_series(1, 100000) g"}, io.Discard)
		})
	}
	wg.Wait()
	for i := range 5 {
		if errs[i] != nil || rows[i] != 100000 {
			t.Errorf("export %d after the cancellation: %d rows, %v; want 100000 rows", i, rows[i], errs[i])
		}
	}
}
