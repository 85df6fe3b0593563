package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/batchport/batchport/internal/catalog"
	"github.com/batchport/batchport/internal/failpoint"
	"github.com/batchport/batchport/internal/failure"
	"github.com/batchport/batchport/internal/pgexport"
	"github.com/batchport/batchport/internal/s3store"
	"github.com/jackc/pgx/v5"
)

// SQLExport is the sql-export handler: it runs the job's query once, keeps
// the CSV in S3 as the snapshot of record, and delivers that object's bytes
// to every destination. A retry never runs the query again once the export
// step is recorded.
type SQLExport struct {
	Store     *s3store.Store
	LookupEnv func(string) (string, bool)
	Logger    *slog.Logger
}

// ExportResult is the export step's ledger record.
type ExportResult struct {
	Bucket string `json:"bucket"`
	s3store.Object
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// DeliverResult is one delivery step's ledger record.
type DeliverResult struct {
	Address    string `json:"address"`
	RemotePath string `json:"remote_path"`
	Bytes      int64  `json:"bytes"`
	SHA256     string `json:"sha256"`
}

// ExportStep is the ledger name of the export step.
const ExportStep = "export"

// DeliverStep returns the ledger name of the delivery to destination i.
func DeliverStep(i int) string { return fmt.Sprintf("deliver/%d", i) }

// Validate checks that the job can be exported; catalog validation already
// checked the keys themselves.
func (h *SQLExport) Validate(job *catalog.Job) error {
	if job.Export == nil || job.Backup == nil {
		return errors.New("sql-export needs export and backup")
	}
	return nil
}

// DrillPrefix is the S3 folder of the exports of runs with NoDeliver.
const DrillPrefix = "drills"

// Execute runs the export step unless an earlier attempt recorded it, then each delivery.
func (h *SQLExport) Execute(ctx context.Context, exec *Execution) error {
	var export ExportResult
	done, err := exec.Steps.Done(ExportStep, &export)
	if err != nil {
		return err
	}
	if done && !exec.NoDeliver && strings.HasPrefix(export.Key, DrillPrefix+"/") {
		// A drill's export is not the backup of record, and it may be old:
		// delivering it would send a rehearsal to the partner.
		return failure.Permanentf("run_key_drill",
			"run key %s was used by a drill (run --no-deliver), whose export s3://%s/%s is not delivered; give the real run another run key",
			exec.Run.RunKey, export.Bucket, export.Key)
	}
	if done {
		h.Logger.InfoContext(ctx, "export: resuming from the S3 snapshot", "run_key", exec.Run.RunKey, "s3_key", export.Key, "rows", export.Rows)
	} else {
		// A destination whose key or known_hosts variable is missing or does
		// not parse fails here, before the query runs, rather than after the
		// export is stored.
		if !exec.NoDeliver {
			for _, delivery := range exec.Run.Deliveries {
				target, err := h.sftpTarget(delivery.SFTP)
				if err != nil {
					return err
				}
				if err := target.Check(); err != nil {
					return err
				}
			}
		}
		live := h.startLiveDeliveries(ctx, exec)
		if export, err = h.export(ctx, exec.Run, live); err != nil {
			abortAll(live)
			return err
		}
		if err := exec.Steps.Record(ctx, ExportStep, export); err != nil {
			abortAll(live)
			return err
		}
		failpoint.Pause(failpoint.ExportRecorded)
		h.finishLiveDeliveries(ctx, exec, live, export)
	}
	if exec.NoDeliver {
		return nil
	}
	for i, delivery := range exec.Run.Deliveries {
		if err := h.deliverOnce(ctx, exec, i, delivery, export); err != nil {
			return err
		}
	}
	return nil
}

// export streams COPY's CSV through a hash and a byte count into the S3
// upload and to the live deliveries.
func (h *SQLExport) export(ctx context.Context, run *catalog.Run, live []*liveDelivery) (ExportResult, error) {
	query, err := h.query(run)
	if err != nil {
		return ExportResult{}, err
	}
	conn, err := h.connect(ctx, run.Job)
	if err != nil {
		return ExportResult{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))

	started := time.Now()
	h.Logger.InfoContext(ctx, "export: running query", "run_key", run.RunKey, "job", run.Job.Name)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reader, writer := io.Pipe()
	fanOut := &liveWriter{live: live}
	output := &firstWritePause{next: io.MultiWriter(writer, fanOut)}
	copied := make(chan copyResult, 1)
	go func() {
		rows, err := pgexport.Copy(ctx, conn, query, output)
		// Closing with nil ends the upload's body; with an error, it fails the upload.
		writer.CloseWithError(err)
		fanOut.closeAll(err)
		copied <- copyResult{rows: rows, err: err}
	}()

	// The upload reads every byte in order, so hashing there keeps the hash
	// off the COPY's goroutine, which the whole export waits for.
	hashed := &hashingReader{hash: sha256.New(), next: reader}
	object, uploadErr := h.Store.Upload(ctx, run.BackupKey, hashed, &s3store.UploadOptions{Owner: run.RunKey})
	if uploadErr != nil {
		cancel() // stops the COPY if the upload failed first
		reader.CloseWithError(uploadErr)
	}
	result := <-copied
	// When the upload failed first, the COPY's error is only the
	// cancellation that followed, and the upload's error is the cause.
	if uploadErr != nil && (result.err == nil || errors.Is(result.err, context.Canceled)) {
		return ExportResult{}, uploadErr
	}
	if result.err != nil {
		return ExportResult{}, fmt.Errorf("exporting %s: %w", run.Job.Name, result.err)
	}
	export := ExportResult{Bucket: h.Store.Bucket(), Object: object, Rows: result.rows, Bytes: hashed.bytes, SHA256: hex.EncodeToString(hashed.hash.Sum(nil))}
	h.Logger.InfoContext(ctx, "export: stored", "run_key", run.RunKey, "s3_key", object.Key, "rows", export.Rows,
		"bytes", export.Bytes, "duration_ms", time.Since(started).Milliseconds())
	return export, nil
}

type copyResult struct {
	rows int64
	err  error
}

func (h *SQLExport) query(run *catalog.Run) (pgexport.Query, error) {
	sql, err := run.Job.QuerySQL()
	if err != nil {
		return pgexport.Query{}, failure.MarkPermanent("job_invalid", err)
	}
	timeZone := run.Job.Export.Timezone
	if timeZone == "" {
		timeZone = run.ScheduledFor.Location().String()
	}
	return pgexport.Query{
		SQL:              sql,
		Params:           run.Params,
		TimeZone:         timeZone,
		StatementTimeout: run.Job.TimeoutOrDefault(),
		Header:           run.Job.CSV.WithHeader(),
	}, nil
}

// connect opens the export source named by the job's database_env. The URL
// is a secret: errors name the variable, never its value.
func (h *SQLExport) connect(ctx context.Context, job *catalog.Job) (*pgx.Conn, error) {
	name := job.DatabaseEnv()
	url, ok := h.LookupEnv(name)
	if !ok || url == "" {
		return nil, failure.Permanentf("config_missing", "%s is not set: set it to the export source's PostgreSQL URL", name)
	}
	config, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, failure.Permanentf("config_invalid", "%s is not a valid PostgreSQL URL", name)
	}
	config.BuildFrontend = pgexport.NewFrontend
	conn, err := pgx.ConnectConfig(ctx, config)
	if err != nil {
		return nil, fmt.Errorf("connecting to the export source (%s): %w", name, err)
	}
	return conn, nil
}

// firstWritePause stops at the export.copy failpoint before the first bytes pass to next.
type firstWritePause struct {
	next    io.Writer
	started bool
}

func (w *firstWritePause) Write(p []byte) (int, error) {
	if !w.started {
		w.started = true
		failpoint.Pause(failpoint.ExportCopy)
	}
	return w.next.Write(p)
}
