// Package s3store keeps exports in S3: a streamed upload that is either
// completed whole or aborted, and a read of one exact version.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Client is the S3 API the store calls.
type Client interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, optFns ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Store reads and writes objects in one bucket.
type Store struct {
	client      Client
	bucket      string
	partSize    int
	concurrency int
}

// Options tune uploads. A nil *Options means the defaults.
type Options struct {
	// PartSize is the multipart part size in bytes. Default: 8 MiB; S3's minimum is 5 MiB.
	PartSize int
	// Concurrency is how many parts upload at once. Default: 2.
	Concurrency int
}

// New returns a Store for bucket.
func New(client Client, bucket string, opts *Options) *Store {
	s := &Store{client: client, bucket: bucket, partSize: 8 << 20, concurrency: 2}
	if opts != nil && opts.PartSize > 0 {
		s.partSize = opts.PartSize
	}
	if opts != nil && opts.Concurrency > 0 {
		s.concurrency = opts.Concurrency
	}
	return s
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

// ErrChanged is wrapped by Open's error when the object is no longer the version recorded.
var ErrChanged = errors.New("the backup changed since the export")

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
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "PreconditionFailed" {
		return nil, 0, fmt.Errorf("reading s3://%s/%s: %w: its ETag is no longer %s, so another upload replaced it; "+
			"rerun the job under a new run key to export again", s.bucket, object.Key, ErrChanged, object.ETag)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading s3://%s/%s: %w", s.bucket, object.Key, err)
	}
	return out.Body, aws.ToInt64(out.ContentLength), nil
}
