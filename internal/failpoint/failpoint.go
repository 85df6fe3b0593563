// Package failpoint stops the process at a named point of a run, so that
// tests can kill a worker exactly there and check what survives. It does
// nothing unless the environment variable BATCHPORT_FAILPOINT names a point
// when the process starts; no production setting uses it.
package failpoint

import (
	"os"
	"sync"
)

// The points where a run can be stopped. On a first attempt the export
// streams to S3 and to each SFTP server at once, so the order is: ExportCopy
// and DeliverWrite, ExportUpload, ExportRecorded, DeliverRenamed,
// BeforeDelete. DeliverFromS3Write is on the path of a retry, which
// delivers the recorded S3 object.
const (
	ExportCopy         = "export.copy"          // COPY has written its first bytes
	DeliverWrite       = "deliver.write"        // the temporary SFTP file has its first bytes, during the export
	ExportUpload       = "export.upload"        // the first multipart part is stored
	ExportRecorded     = "export.recorded"      // the export step is in the ledger
	DeliverFromS3Write = "deliver.s3_write"     // a delivery from S3 has written its first bytes
	DeliverRenamed     = "deliver.renamed"      // the file has its final name, the ledger does not know yet
	BeforeDelete       = "worker.before_delete" // the run succeeded, the message is not deleted yet
)

var (
	active = os.Getenv("BATCHPORT_FAILPOINT")
	// markerFile, if set, receives the point's name when it is reached.
	markerFile = os.Getenv("BATCHPORT_FAILPOINT_FILE")
	once       sync.Once
)

// Pause blocks the calling goroutine for ever if name is the active point,
// after writing name to the marker file. The first time only: a point is
// reached once per process.
func Pause(name string) {
	if active != name {
		return
	}
	reached := false
	once.Do(func() { reached = true })
	if !reached {
		return
	}
	if markerFile != "" {
		_ = os.WriteFile(markerFile, []byte(name), 0o644)
	}
	select {}
}
