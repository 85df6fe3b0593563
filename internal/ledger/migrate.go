package ledger

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockID is the advisory lock key that serializes migrations
// between workers starting at once ("batchport" in ASCII, as a number).
const migrationLockID = 0x6261746368706f72

// migrate applies the embedded migrations not yet applied, in file name
// order, each in its own transaction, under a transaction-level advisory lock.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("listing migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := applyMigration(ctx, pool, name); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, pool *pgxpool.Pool, name string) error {
	version, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "migrations/"), "_", 2)[0])
	if err != nil {
		return fmt.Errorf("migration %s: the name must start with a number", name)
	}
	body, err := migrationFiles.ReadFile(name)
	if err != nil {
		return fmt.Errorf("reading migration %s: %w", name, err)
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockID)); err != nil {
			return fmt.Errorf("locking ledger migrations: %w", err)
		}
		setup := `CREATE SCHEMA IF NOT EXISTS batchport;
			CREATE TABLE IF NOT EXISTS batchport.schema_migrations (
				version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`
		if _, err := tx.Exec(ctx, setup); err != nil {
			return fmt.Errorf("creating ledger schema: %w", err)
		}
		var applied bool
		err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM batchport.schema_migrations WHERE version = $1)", version).Scan(&applied)
		if err != nil || applied {
			return err
		}
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return fmt.Errorf("applying ledger migration %s: %w", name, err)
		}
		_, err = tx.Exec(ctx, "INSERT INTO batchport.schema_migrations (version) VALUES ($1)", version)
		return err
	})
}
