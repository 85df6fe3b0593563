// Package s3store keeps exports in S3: a streamed multipart upload that is
// either completed whole or aborted, and a read of one exact version.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// PartSize is the multipart part size. The uploader keeps up to
// Concurrency+1 parts of this size in memory, so it bounds the upload's memory.
const PartSize = 8 << 20

// Concurrency is how many parts upload at once.
const Concurrency = 2

// abortTimeout bounds the abort of a failed upload, which runs on a fresh
// context because the upload's own context may be the reason it failed.
const abortTimeout = 30 * time.Second

// Client is the S3 API the store calls.
type Client interface {
	manager.UploadAPIClient
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Store reads and writes objects in one bucket.
type Store struct {
	client   Client
	uploader *manager.Uploader
	bucket   string
}

// New returns a Store for bucket.
func New(client Client, bucket string) *Store {
	uploader := manager.NewUploader(client, func(u *manager.Uploader) {
		u.PartSize = PartSize
		u.Concurrency = Concurrency
		// The store aborts a failed upload itself, on a context that is not cancelled.
		u.LeavePartsOnError = true
	})
	return &Store{client: client, uploader: uploader, bucket: bucket}
}

// Bucket returns the store's bucket name.
func (s *Store) Bucket() string { return s.bucket }

// Object identifies one stored version of a key.
type Object struct {
	Key string `json:"key"`
	// ETag is the entity tag S3 returned, quotes included.
	ETag string `json:"etag"`
	// VersionID is empty where the bucket has no versioning.
	VersionID string `json:"version_id,omitempty"`
}

// Upload streams body to key. The object appears only when the whole body
// is uploaded; on any error the multipart upload is aborted.
func (s *Store) Upload(ctx context.Context, key string, body io.Reader) (Object, error) {
	out, err := s.uploader.Upload(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(s.bucket),
		Key:         aws.String(key),
		Body:        body,
		ContentType: aws.String("text/csv"),
	})
	if err != nil {
		var failure manager.MultiUploadFailure
		if errors.As(err, &failure) {
			if abortErr := s.abort(ctx, key, failure.UploadID()); abortErr != nil {
				return Object{}, errors.Join(fmt.Errorf("uploading s3://%s/%s: %w", s.bucket, key, err), abortErr)
			}
		}
		return Object{}, fmt.Errorf("uploading s3://%s/%s: %w", s.bucket, key, err)
	}
	object := Object{Key: key, ETag: aws.ToString(out.ETag), VersionID: aws.ToString(out.VersionID)}
	return object, nil
}

func (s *Store) abort(ctx context.Context, key, uploadID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(s.bucket),
		Key:      aws.String(key),
		UploadId: aws.String(uploadID),
	})
	if err != nil {
		return fmt.Errorf("aborting multipart upload %s of s3://%s/%s: %w", uploadID, s.bucket, key, err)
	}
	return nil
}

// Open returns the body and size of exactly the version in object: by
// version ID where the bucket has one, else on the condition that the ETag
// still matches, so a changed object is an error rather than other bytes.
func (s *Store) Open(ctx context.Context, object Object) (io.ReadCloser, int64, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(object.Key)}
	if object.VersionID != "" {
		in.VersionId = aws.String(object.VersionID)
	} else if object.ETag != "" {
		in.IfMatch = aws.String(object.ETag)
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, 0, fmt.Errorf("reading s3://%s/%s: %w", s.bucket, object.Key, err)
	}
	return out.Body, aws.ToInt64(out.ContentLength), nil
}
