package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/jackc/pgx/v5"
)

// NewDatabase creates an empty database, dropped when the test ends, and
// returns its URL.
func (e *Env) NewDatabase(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	name := strings.ReplaceAll(UniqueName("bp_test"), "-", "_")
	conn, err := pgx.Connect(ctx, e.DatabaseURL)
	if err != nil {
		t.Fatalf("connecting to the demo database: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, e.DatabaseURL)
		if err != nil {
			t.Logf("dropping database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(e.DatabaseURL)
	if err != nil {
		t.Fatalf("parsing DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// AWSConfig returns the SDK configuration from the environment.
func AWSConfig(t testing.TB) aws.Config {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("loading AWS configuration: %v", err)
	}
	return cfg
}

// Queues is a job queue with its dead-letter queue.
type Queues struct {
	Client   *sqs.Client
	URL      string
	DLQURL   string
	Name     string
	DLQName  string
	Receives int
}

// NewQueues creates a queue and a DLQ with a redrive policy after maxReceives
// receives; both are deleted when the test ends.
func (e *Env) NewQueues(t testing.TB, maxReceives int) *Queues {
	t.Helper()
	ctx := context.Background()
	client := sqs.NewFromConfig(AWSConfig(t))
	name := UniqueName("bp-test")
	q := &Queues{Client: client, Name: name, DLQName: name + "-dlq", Receives: maxReceives}
	dlq, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(q.DLQName)})
	if err != nil {
		t.Fatalf("creating queue %s: %v", q.DLQName, err)
	}
	q.DLQURL = aws.ToString(dlq.QueueUrl)
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: dlq.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("reading the ARN of %s: %v", q.DLQName, err)
	}
	policy := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, attrs.Attributes["QueueArn"], maxReceives)
	main, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(name),
		Attributes: map[string]string{"RedrivePolicy": policy, "VisibilityTimeout": "30"},
	})
	if err != nil {
		t.Fatalf("creating queue %s: %v", name, err)
	}
	q.URL = aws.ToString(main.QueueUrl)
	t.Cleanup(func() {
		for _, u := range []string{q.URL, q.DLQURL} {
			_, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	return q
}

// Count returns the approximate number of visible and in-flight messages on the queue at queueURL.
func (q *Queues) Count(t testing.TB, queueURL string) (visible, inFlight int) {
	t.Helper()
	out, err := q.Client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatalf("reading queue counts: %v", err)
	}
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessages"], &visible)
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessagesNotVisible"], &inFlight)
	return visible, inFlight
}

// S3Client returns a path-style client for the local S3 server.
func S3Client(t testing.TB) *s3.Client {
	return s3.NewFromConfig(AWSConfig(t), func(o *s3.Options) { o.UsePathStyle = true })
}

// NewBucket creates a bucket for the test and returns its name. The bucket,
// its objects and open multipart uploads are deleted when the test ends.
func (e *Env) NewBucket(t testing.TB) string {
	t.Helper()
	name := UniqueName("bp-test")
	client := S3Client(t)
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
	t.Cleanup(func() { deleteBucket(client, name) })
	return name
}

func deleteBucket(client *s3.Client, name string) {
	ctx := context.Background()
	bucket := aws.String(name)
	if uploads, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: bucket}); err == nil {
		for _, upload := range uploads.Uploads {
			_, _ = client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId})
		}
	}
	paginator := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: bucket})
	for paginator.HasMorePages() {
		page, err := paginator.NextPage(ctx)
		if err != nil {
			break
		}
		for _, object := range page.Contents {
			_, _ = client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: object.Key})
		}
	}
	_, _ = client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: bucket})
}

// NewSFTPDir creates a folder under the partner's inbox, owned by the
// partner user, and returns its path as the SFTP server shows it.
func (e *Env) NewSFTPDir(t testing.TB) string {
	t.Helper()
	name := UniqueName("t")
	inbox := filepath.Join(e.SFTPRoot, "inbox")
	dir := filepath.Join(inbox, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("creating SFTP folder: %v", err)
	}
	info, err := os.Stat(inbox)
	if err != nil {
		t.Fatalf("reading the inbox: %v", err)
	}
	if err := chownLike(dir, info); err != nil {
		t.Fatalf("giving the SFTP folder to the partner user: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return "/inbox/" + name
}

// WaitFor polls condition every 100 ms until it holds or timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, condition func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
