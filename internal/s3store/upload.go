package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/batchport/batchport/internal/failpoint"
)

// bodyOptions apply to requests that carry export data. The payload is sent
// as UNSIGNED-PAYLOAD, because signing it costs a SHA-256 pass over every
// byte on both sides. A CRC32C checksum, computed in hardware, covers the
// bytes instead, and S3 checks it on arrival.
var bodyOptions = []func(*s3.Options){s3.WithAPIOptions(unsignedPayload)}

// unsignedPayload marks the request's payload as unsigned before the SDK's
// checksum step, which on a plain-HTTP endpoint would otherwise hash the
// payload with SHA-256 for the signature. (Over HTTPS the SDK already
// sends the payload unsigned, with a trailing checksum.)
func unsignedPayload(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("batchport:UnsignedPayload",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			return next.HandleFinalize(v4.SetPayloadHash(ctx, "UNSIGNED-PAYLOAD"), in)
		}), middleware.Before)
}

// maxParts is S3's limit on parts per multipart upload. With 8 MiB parts an
// upload can hold about 78 GiB; a larger export fails when it passes that.
const maxParts = 10000

// abortTimeout bounds the abort of a failed upload, which runs on a fresh
// context because the upload's own context may be why it failed.
const abortTimeout = 30 * time.Second

// UploadOptions adjust one upload. A nil *UploadOptions means the defaults.
type UploadOptions struct {
	// Owner, when set, is stored with the object (metadata batchport-run-key)
	// and guards it: an object at the key that another owner stored is never
	// replaced, and Upload fails with ErrKeyTaken instead. The same owner may
	// replace its own object, as a retry of an unrecorded export does.
	Owner string
}

// ErrKeyTaken is wrapped by Upload's error when the key holds another owner's object.
var ErrKeyTaken = errors.New("the backup key already holds another run's export")

// ownerMetadata is the user metadata key that records an object's owner.
const ownerMetadata = "batchport-run-key"

// Upload streams body to key. A body smaller than one part goes up in one
// PutObject; a larger one as a multipart upload with up to Concurrency parts
// in flight. Memory is bounded by Concurrency+1 part buffers, whatever the
// body's size. The object appears only when the whole body is stored: on
// any error a multipart upload is aborted.
func (s *Store) Upload(ctx context.Context, key string, body io.Reader, opts *UploadOptions) (Object, error) {
	target, err := s.uploadTarget(ctx, key, opts)
	if err != nil {
		return Object{}, err
	}
	first := make([]byte, s.partSize)
	n, err := io.ReadFull(body, first)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return s.putObject(ctx, target, first[:n])
	case err != nil:
		return Object{}, fmt.Errorf("uploading s3://%s/%s: reading the body: %w", s.bucket, key, err)
	}
	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), ContentType: aws.String("text/csv"), Metadata: target.metadata,
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
	})
	if err != nil {
		return Object{}, fmt.Errorf("starting multipart upload of s3://%s/%s: %w", s.bucket, key, err)
	}
	upload := &multipartUpload{store: s, target: target, key: key, id: aws.ToString(created.UploadId)}
	object, err := upload.run(ctx, first, body)
	if err != nil {
		if abortErr := upload.abort(ctx); abortErr != nil {
			err = errors.Join(err, abortErr)
		}
		return Object{}, fmt.Errorf("uploading s3://%s/%s: %w", s.bucket, key, target.explain(err))
	}
	return object, nil
}

// uploadTarget is a key with the conditions and metadata of one upload.
type uploadTarget struct {
	key      string
	owner    string
	metadata map[string]string
	// ifNoneMatch makes the write fail if any object appeared at the key meanwhile.
	ifNoneMatch *string
}

// uploadTarget checks who owns the object at key, if any.
func (s *Store) uploadTarget(ctx context.Context, key string, opts *UploadOptions) (_ *uploadTarget, err error) {
	target := &uploadTarget{key: key}
	if opts == nil || opts.Owner == "" {
		return target, nil
	}
	target.owner = opts.Owner
	target.metadata = map[string]string{ownerMetadata: url.QueryEscape(opts.Owner)}
	defer func() {
		if err == nil {
			s.abortStale(ctx, key)
		}
	}()
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	var notFound *types.NotFound
	if errors.As(err, &notFound) {
		target.ifNoneMatch = aws.String("*")
		return target, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checking s3://%s/%s before the upload: %w", s.bucket, key, err)
	}
	existing, _ := url.QueryUnescape(head.Metadata[ownerMetadata])
	if existing != opts.Owner {
		return nil, fmt.Errorf("s3://%s/%s: %w (run key %q): give the job a backup key template that includes {{.RunKey}}, or use that run key",
			s.bucket, key, ErrKeyTaken, existing)
	}
	return target, nil
}

// abortStale aborts multipart uploads of key that earlier attempts left
// open, as a worker killed mid-upload does. The caller owns the key (its
// run's lease is held), so no other upload of it is in progress.
func (s *Store) abortStale(ctx context.Context, key string) {
	out, err := s.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket), Prefix: aws.String(key)})
	if err != nil {
		return // best effort: a bucket lifecycle rule for incomplete uploads is the backstop
	}
	for _, upload := range out.Uploads {
		if aws.ToString(upload.Key) == key {
			stale := &multipartUpload{store: s, key: key, id: aws.ToString(upload.UploadId)}
			_ = stale.abort(ctx)
		}
	}
}

// explain turns the conditional write's refusal into ErrKeyTaken.
func (t *uploadTarget) explain(err error) error {
	var apiErr smithy.APIError
	if t.ifNoneMatch != nil && errors.As(err, &apiErr) && apiErr.ErrorCode() == "PreconditionFailed" {
		return fmt.Errorf("%w: another run stored an object at this key during the upload: %w", ErrKeyTaken, err)
	}
	return err
}

func (s *Store) putObject(ctx context.Context, target *uploadTarget, data []byte) (Object, error) {
	out, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(target.key), Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String("text/csv"),
		Metadata: target.metadata, IfNoneMatch: target.ifNoneMatch, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
	}, bodyOptions...)
	if err != nil {
		return Object{}, fmt.Errorf("uploading s3://%s/%s: %w", s.bucket, target.key, target.explain(err))
	}
	return Object{Key: target.key, ETag: aws.ToString(out.ETag), VersionID: aws.ToString(out.VersionId)}, nil
}

// multipartUpload is one multipart upload in progress.
type multipartUpload struct {
	store  *Store
	target *uploadTarget
	key    string
	id     string

	mu    sync.Mutex
	parts []types.CompletedPart
}

type part struct {
	number int32
	data   []byte
	buffer []byte // the pooled buffer data is a prefix of
}

// run reads body into parts and uploads them, up to Concurrency at once,
// reusing Concurrency+1 buffers. first is the first part, already read.
func (u *multipartUpload) run(ctx context.Context, first []byte, body io.Reader) (Object, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s := u.store
	buffers := make(chan []byte, s.concurrency+1)
	for range s.concurrency {
		buffers <- make([]byte, s.partSize)
	}
	parts := make(chan part)
	var workers sync.WaitGroup
	for range s.concurrency {
		workers.Go(func() {
			for p := range parts {
				if err := u.uploadPart(ctx, p); err != nil {
					cancel(err)
				}
				buffers <- p.buffer
			}
		})
	}
	readErr := u.feed(ctx, first, body, buffers, parts)
	close(parts)
	workers.Wait()
	if err := context.Cause(ctx); err != nil {
		return Object{}, err
	}
	if readErr != nil {
		return Object{}, readErr
	}
	return u.complete(ctx)
}

// feed sends first and then each further part of body to parts, taking a
// free buffer for each. It stops at the end of body or when ctx ends.
func (u *multipartUpload) feed(ctx context.Context, first []byte, body io.Reader, buffers chan []byte, parts chan<- part) error {
	next := part{number: 1, data: first, buffer: first}
	for {
		select {
		case parts <- next:
		case <-ctx.Done():
			return nil
		}
		if next.number == maxParts {
			return fmt.Errorf("the export is larger than %d parts of %d bytes, S3's limit for one object", maxParts, u.store.partSize)
		}
		var buffer []byte
		select {
		case buffer = <-buffers:
		case <-ctx.Done():
			return nil
		}
		n, err := io.ReadFull(body, buffer)
		if n == 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
			return nil
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("reading the body: %w", err)
		}
		next = part{number: next.number + 1, data: buffer[:n], buffer: buffer}
		if n < len(buffer) {
			// The last, short part: send it, then stop.
			select {
			case parts <- next:
			case <-ctx.Done():
			}
			return nil
		}
	}
}

func (u *multipartUpload) uploadPart(ctx context.Context, p part) error {
	out, err := u.store.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: aws.String(u.store.bucket), Key: aws.String(u.key), UploadId: aws.String(u.id),
		PartNumber: aws.Int32(p.number), Body: bytes.NewReader(p.data), ContentLength: aws.Int64(int64(len(p.data))),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
	}, bodyOptions...)
	if err != nil {
		return fmt.Errorf("uploading part %d: %w", p.number, err)
	}
	u.mu.Lock()
	u.parts = append(u.parts, types.CompletedPart{PartNumber: aws.Int32(p.number), ETag: out.ETag, ChecksumCRC32C: out.ChecksumCRC32C})
	u.mu.Unlock()
	if p.number == 1 {
		failpoint.Pause(failpoint.ExportUpload)
	}
	return nil
}

func (u *multipartUpload) complete(ctx context.Context) (Object, error) {
	sort.Slice(u.parts, func(i, j int) bool { return *u.parts[i].PartNumber < *u.parts[j].PartNumber })
	out, err := u.store.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(u.store.bucket), Key: aws.String(u.key), UploadId: aws.String(u.id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: u.parts}, IfNoneMatch: u.target.ifNoneMatch,
	})
	if err != nil {
		return Object{}, fmt.Errorf("completing the multipart upload: %w", err)
	}
	return Object{Key: u.key, ETag: aws.ToString(out.ETag), VersionID: aws.ToString(out.VersionId)}, nil
}

// abort aborts the upload, then checks that it is gone. A part upload in
// progress during the abort may still succeed, so "it might be necessary to
// abort a given multipart upload multiple times" (S3 API reference,
// AbortMultipartUpload). It tries up to abortAttempts times.
func (u *multipartUpload) abort(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		_, err := u.store.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(u.store.bucket), Key: aws.String(u.key), UploadId: aws.String(u.id),
		})
		var apiErr smithy.APIError
		if err != nil && !(errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchUpload") {
			return fmt.Errorf("aborting multipart upload %s: %w", u.id, err)
		}
		timer := time.NewTimer(abortRecheckDelay)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil // the abort went through; only the check is cut short
		}
		open, err := u.stillOpen(ctx)
		if err != nil || !open {
			return nil // a failed check is not a failed abort, and abortStale retries at the next upload
		}
		if attempt == abortAttempts {
			return fmt.Errorf("multipart upload %s is still open after %d aborts", u.id, attempt)
		}
	}
}

// Bounds of abort's check for an upload that came back: attempts, and the pause before each check.
const (
	abortAttempts     = 3
	abortRecheckDelay = 250 * time.Millisecond
)

// stillOpen reports whether the bucket still lists the upload.
func (u *multipartUpload) stillOpen(ctx context.Context) (bool, error) {
	out, err := u.store.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{
		Bucket: aws.String(u.store.bucket), Prefix: aws.String(u.key),
	})
	if err != nil {
		return false, err
	}
	for _, upload := range out.Uploads {
		if aws.ToString(upload.UploadId) == u.id {
			return true, nil
		}
	}
	return false, nil
}
