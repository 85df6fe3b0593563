package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/batchport/batchport/internal/catalog"
	"github.com/batchport/batchport/internal/failpoint"
	"github.com/batchport/batchport/internal/failure"
	"github.com/batchport/batchport/internal/sftpdeliver"
)

// deliverOnce delivers the S3 snapshot to destination i unless an earlier
// attempt recorded that delivery.
func (h *SQLExport) deliverOnce(ctx context.Context, exec *Execution, i int, delivery catalog.Delivery, export ExportResult) error {
	step := DeliverStep(i)
	var previous DeliverResult
	done, err := exec.Steps.Done(step, &previous)
	if err != nil || done {
		return err
	}
	result, err := h.deliver(ctx, exec, delivery, export)
	if err != nil {
		return fmt.Errorf("delivering to %s: %w", delivery.SFTP.Address, err)
	}
	if err := exec.Steps.Record(ctx, step, result); err != nil {
		return err
	}
	return nil
}

// deliver streams the exact S3 version recorded by the export to the SFTP
// server, and checks the bytes read against the export's SHA-256 before
// the file is renamed into place.
func (h *SQLExport) deliver(ctx context.Context, exec *Execution, delivery catalog.Delivery, export ExportResult) (DeliverResult, error) {
	target, err := h.sftpTarget(delivery.SFTP)
	if err != nil {
		return DeliverResult{}, err
	}
	started := time.Now()
	client, err := sftpdeliver.Dial(ctx, target)
	if err != nil {
		return DeliverResult{}, err
	}
	defer client.Close()
	result := DeliverResult{Address: target.Address, RemotePath: delivery.RemotePath, Bytes: export.Bytes, SHA256: export.SHA256}

	// An earlier attempt may have renamed the file into place and stopped
	// before recording it. The same bytes are then not sent again, so a
	// partner that already took the file does not get a second copy.
	same, err := client.HasFile(ctx, delivery.RemotePath, export.Bytes, export.SHA256)
	if err != nil {
		return DeliverResult{}, err
	}
	if same {
		h.Logger.InfoContext(ctx, "deliver: file already in place from an earlier attempt, not sent again",
			"run_key", exec.Run.RunKey, "address", target.Address, "remote_path", delivery.RemotePath, "bytes", export.Bytes)
		return result, nil
	}

	body, _, err := h.Store.Open(ctx, export.Object)
	if err != nil {
		return DeliverResult{}, err
	}
	defer body.Close()

	hashed := &hashingReader{hash: sha256.New(), next: body, pause: failpoint.DeliverFromS3Write}
	// Before the rename: the bytes must be the snapshot's, and this attempt
	// must still hold the run. A small window remains between the check and
	// the rename, because SFTP has no conditional rename.
	verify := func() error {
		if sum := hex.EncodeToString(hashed.hash.Sum(nil)); sum != export.SHA256 {
			return fmt.Errorf("the S3 object's SHA-256 %s differs from the export's %s", sum, export.SHA256)
		}
		return exec.Steps.CheckLease(ctx)
	}
	if err := client.Put(ctx, delivery.RemotePath, hashed, export.Bytes, verify); err != nil {
		return DeliverResult{}, err
	}
	failpoint.Pause(failpoint.DeliverRenamed)
	h.Logger.InfoContext(ctx, "deliver: file in place", "run_key", exec.Run.RunKey, "address", target.Address, "remote_path", delivery.RemotePath,
		"bytes", export.Bytes, "duration_ms", time.Since(started).Milliseconds())
	return result, nil
}

// sftpTarget reads the destination's key and known_hosts from the
// environment. Both are secrets or pins: errors name the variables only.
func (h *SQLExport) sftpTarget(destination *catalog.SFTPDestination) (sftpdeliver.Target, error) {
	key, ok := h.LookupEnv(destination.PrivateKeyEnv)
	if !ok || key == "" {
		return sftpdeliver.Target{}, failure.Permanentf("config_missing", "%s is not set: set it to the SFTP private key", destination.PrivateKeyEnv)
	}
	knownHosts, ok := h.LookupEnv(destination.KnownHostsEnv)
	if !ok || knownHosts == "" {
		return sftpdeliver.Target{}, failure.Permanentf("config_missing",
			"%s is not set: set it to the partner's known_hosts lines; host keys are always verified", destination.KnownHostsEnv)
	}
	return sftpdeliver.Target{
		Address:          destination.Address,
		User:             destination.User,
		PrivateKey:       []byte(key),
		KeySource:        destination.PrivateKeyEnv,
		KnownHosts:       []byte(knownHosts),
		KnownHostsSource: destination.KnownHostsEnv,
	}, nil
}

// hashingReader counts and hashes what is read through it. If pause names
// a failpoint, it stops there before its second read.
type hashingReader struct {
	hash  hash.Hash
	next  io.Reader
	pause string
	reads int
	bytes int64
}

func (r *hashingReader) Read(p []byte) (int, error) {
	if r.reads++; r.reads == 2 && r.pause != "" {
		failpoint.Pause(r.pause)
	}
	n, err := r.next.Read(p)
	r.hash.Write(p[:n])
	r.bytes += int64(n)
	return n, err
}
