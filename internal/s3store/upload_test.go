package s3store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/batchport/batchport/internal/s3store"
	"github.com/batchport/batchport/internal/testenv"
)

const partSize = 5 << 20 // S3's minimum part size

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestUploadRoundTrip(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	ctx := testenv.Context(t)
	bucket := env.NewBucket(t)
	store := s3store.New(testenv.S3Client(t), bucket, &s3store.Options{PartSize: partSize, Concurrency: 2})

	for name, size := range map[string]int{"empty": 0, "small": 1000, "exact parts": 2 * partSize, "odd tail": 3*partSize + 17} {
		data := randomBytes(t, size)
		object, err := store.Upload(ctx, "round-trip/"+name, bytes.NewReader(data), nil)
		if err != nil {
			t.Fatalf("%s: Upload: %v", name, err)
		}
		body, length, err := store.Open(ctx, object)
		if err != nil {
			t.Fatalf("%s: Open: %v", name, err)
		}
		got, err := io.ReadAll(body)
		body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if length != int64(size) {
			t.Errorf("%s: content length %d, want %d", name, length, size)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%s: read back %d bytes differing from the %d uploaded", name, len(got), size)
		}
	}
}

// cancellingReader cancels after handing out limit bytes, as a shutdown
// in the middle of an export would.
type cancellingReader struct {
	data   []byte
	limit  int
	cancel context.CancelFunc
	read   int
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	if r.read >= r.limit {
		r.cancel()
		return 0, context.Canceled
	}
	n := copy(p, r.data[r.read:min(len(r.data), r.limit)])
	r.read += n
	return n, nil
}

func TestUploadCancelledAbortsUpload(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	bucket := env.NewBucket(t)
	client := testenv.S3Client(t)
	store := s3store.New(client, bucket, &s3store.Options{PartSize: partSize, Concurrency: 2})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	data := randomBytes(t, 40*partSize/5) // 40 MiB in 8 parts
	reader := &cancellingReader{data: data, limit: 3 * partSize, cancel: cancel}
	_, err := store.Upload(ctx, "cancelled/export.csv", reader, nil)
	if err == nil {
		t.Fatal("Upload of a cancelled body succeeded")
	}

	uploads, err := client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(uploads.Uploads) != 0 {
		t.Errorf("%d multipart uploads left open, want none (aborted)", len(uploads.Uploads))
	}
	_, err = client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("cancelled/export.csv")})
	if err == nil {
		t.Error("the object exists after a cancelled upload")
	}
}

// countingClient wraps a client and records the most parts in flight at once.
type countingClient struct {
	s3store.Client
	inFlight, maxInFlight atomic.Int32
	aborted               atomic.Bool
	abortCtxErr           error
	failPart              int32
}

func (c *countingClient) UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for {
		old := c.maxInFlight.Load()
		if n <= old || c.maxInFlight.CompareAndSwap(old, n) {
			break
		}
	}
	if aws.ToInt32(in.PartNumber) == c.failPart {
		return nil, errors.New("injected part failure")
	}
	return c.Client.UploadPart(ctx, in, optFns...)
}

func (c *countingClient) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	c.aborted.Store(true)
	c.abortCtxErr = ctx.Err()
	return c.Client.AbortMultipartUpload(ctx, in, optFns...)
}

func TestUploadBoundsPartsInFlight(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	bucket := env.NewBucket(t)
	client := &countingClient{Client: testenv.S3Client(t)}
	store := s3store.New(client, bucket, &s3store.Options{PartSize: partSize, Concurrency: 2})

	if _, err := store.Upload(testenv.Context(t), "bounded.csv", bytes.NewReader(randomBytes(t, 6*partSize)), nil); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if got := client.maxInFlight.Load(); got > 2 {
		t.Errorf("%d parts in flight at once, want at most 2", got)
	}
}

func TestUploadPartFailureAborts(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	bucket := env.NewBucket(t)
	client := &countingClient{Client: testenv.S3Client(t), failPart: 3}
	store := s3store.New(client, bucket, &s3store.Options{PartSize: partSize, Concurrency: 2})

	_, err := store.Upload(testenv.Context(t), "failed.csv", bytes.NewReader(randomBytes(t, 5*partSize)), nil)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("injected part failure")) {
		t.Fatalf("Upload = %v, want the part's error", err)
	}
	if !client.aborted.Load() {
		t.Error("the failed upload was not aborted")
	}
	if client.abortCtxErr != nil {
		t.Errorf("abort ran on a finished context: %v", client.abortCtxErr)
	}
}

// lingeringClient makes its first abort a no-op, as when the server
// finishes writing a part after the abort and the upload is left in place.
type lingeringClient struct {
	countingClient
	aborts atomic.Int32
}

func (c *lingeringClient) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	if c.aborts.Add(1) == 1 {
		return &s3.AbortMultipartUploadOutput{}, nil
	}
	return c.Client.AbortMultipartUpload(ctx, in, optFns...)
}

func TestUploadAbortRepeatedUntilGone(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	bucket := env.NewBucket(t)
	raw := testenv.S3Client(t)
	client := &lingeringClient{countingClient: countingClient{Client: raw, failPart: 3}}
	store := s3store.New(client, bucket, &s3store.Options{PartSize: partSize, Concurrency: 2})

	_, err := store.Upload(testenv.Context(t), "lingering.csv", bytes.NewReader(randomBytes(t, 5*partSize)), nil)
	if err == nil {
		t.Fatal("Upload succeeded, want the injected part failure")
	}
	if got := client.aborts.Load(); got != 2 {
		t.Errorf("aborts = %d, want 2: the first left the upload open", got)
	}
	uploads, err := raw.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(uploads.Uploads) != 0 {
		t.Errorf("%d multipart uploads left open, want none", len(uploads.Uploads))
	}
}

func TestUploadKeepsAnotherOwnersObject(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	ctx := testenv.Context(t)
	store := s3store.New(testenv.S3Client(t), env.NewBucket(t), &s3store.Options{PartSize: partSize})
	first := randomBytes(t, 1000)

	original, err := store.Upload(ctx, "daily/2026-12-01.csv", bytes.NewReader(first), &s3store.UploadOptions{Owner: "daily/2026-12-01"})
	if err != nil {
		t.Fatalf("first upload: %v", err)
	}
	// The same owner may replace its object (a retry of an export that was never recorded).
	if _, err := store.Upload(ctx, "daily/2026-12-01.csv", bytes.NewReader(first), &s3store.UploadOptions{Owner: "daily/2026-12-01"}); err != nil {
		t.Errorf("upload by the same owner: %v", err)
	}
	for name, size := range map[string]int{"small": 10, "multipart": 2*partSize + 1} {
		_, err = store.Upload(ctx, "daily/2026-12-01.csv", bytes.NewReader(randomBytes(t, size)), &s3store.UploadOptions{Owner: "drill/1"})
		if !errors.Is(err, s3store.ErrKeyTaken) {
			t.Errorf("%s upload by another owner = %v, want ErrKeyTaken", name, err)
		}
		if err != nil && !strings.Contains(err.Error(), `"daily/2026-12-01"`) {
			t.Errorf("error %q should name the run key that owns the object", err)
		}
	}
	body, _, err := store.Open(ctx, s3store.Object{Key: original.Key})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Equal(got, first) {
		t.Error("the object changed after another owner's upload was refused")
	}
}

func TestOpenChangedObjectFails(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	ctx := testenv.Context(t)
	store := s3store.New(testenv.S3Client(t), env.NewBucket(t), nil)
	object, err := store.Upload(ctx, "report.csv", bytes.NewReader([]byte("one\n")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Upload(ctx, "report.csv", bytes.NewReader([]byte("two\n")), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Open(ctx, object); !errors.Is(err, s3store.ErrChanged) {
		t.Errorf("Open of a replaced object = %v, want ErrChanged", err)
	}
}
