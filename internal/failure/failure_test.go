package failure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/batchport/batchport/internal/sftpdeliver"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pkg/sftp"
)

func pgError(code string) error {
	return &pgconn.PgError{Severity: "ERROR", Code: code, Message: "server message for " + code}
}

func awsError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "service message for " + code}
}

// sftpStatus returns the status error that the sftp client returns for a
// server's SSH_FXP_STATUS reply with code.
func sftpStatus(code uint32) error {
	return &sftp.StatusError{Code: code}
}

type classifyCase struct {
	name       string
	err        error
	wantClass  Class
	wantReason string
}

func classifyCases() []classifyCase {
	return []classifyCase{
		{"marked permanent", MarkPermanent("invalid_message", errors.New("body is not JSON")), Permanent, "invalid_message"},
		{"Permanentf", Permanentf("unknown_job", "job %q is not in the catalog", "x"), Permanent, "unknown_job"},
		{"plain error", errors.New("connection reset by peer"), Retryable, "transient"},
		{"EOF", io.ErrUnexpectedEOF, Retryable, "transient"},
		{"deadline exceeded", context.DeadlineExceeded, Retryable, "transient"},
		{"cancelled", context.Canceled, Retryable, "transient"},

		{"postgres syntax error", pgError("42601"), Permanent, "sql_invalid"},
		{"postgres undefined table", pgError("42P01"), Permanent, "sql_invalid"},
		{"postgres permission denied", pgError("42501"), Permanent, "sql_invalid"},
		{"postgres bad password", pgError("28P01"), Permanent, "database_auth"},
		{"postgres unknown database", pgError("3D000"), Permanent, "database_missing"},
		{"postgres invalid text", pgError("22P02"), Permanent, "sql_data"},
		{"postgres read-only transaction", pgError("25006"), Permanent, "sql_read_only"},
		{"postgres serialization failure", pgError("40001"), Retryable, "transient"},
		{"postgres deadlock", pgError("40P01"), Retryable, "transient"},
		{"postgres admin shutdown", pgError("57P01"), Retryable, "transient"},
		{"postgres connection failure", pgError("08006"), Retryable, "transient"},
		{"postgres idle transaction timeout", pgError("25P03"), Retryable, "transient"},
		{"postgres too many connections", pgError("53300"), Retryable, "transient"},
		{"postgres empty code", pgError(""), Retryable, "transient"},

		{"AWS access denied", awsError("AccessDenied"), Permanent, "aws_auth"},
		{"AWS unknown key id", awsError("InvalidAccessKeyId"), Permanent, "aws_auth"},
		{"AWS bad signature", awsError("SignatureDoesNotMatch"), Permanent, "aws_auth"},
		{"AWS no such bucket", awsError("NoSuchBucket"), Permanent, "aws_no_such_bucket"},
		{"S3 typed no such bucket", &s3types.NoSuchBucket{}, Permanent, "aws_no_such_bucket"},
		{"AWS slow down", awsError("SlowDown"), Retryable, "transient"},
		{"AWS internal error", awsError("InternalError"), Retryable, "transient"},
		{"AWS throttling", awsError("ThrottlingException"), Retryable, "transient"},

		{"SFTP permission denied", sftpStatus(uint32(sftp.ErrSSHFxPermissionDenied)), Permanent, "sftp_permission_denied"},
		{"SFTP no such file", sftpStatus(uint32(sftp.ErrSSHFxNoSuchFile)), Permanent, "sftp_no_such_path"},
		{"SFTP failure", sftpStatus(uint32(sftp.ErrSSHFxFailure)), Retryable, "transient"},
		{"SFTP host key", fmt.Errorf("sftp.partner.example:22: %w: key mismatch", sftpdeliver.ErrHostKey), Permanent, "sftp_host_key"},
		// pkg/sftp turns the no-such-file and permission-denied statuses into these.
		{"SFTP missing folder", fmt.Errorf("creating /inbox/missing/.f.csv.1.part: %w", os.ErrNotExist), Permanent, "sftp_no_such_path"},
		{"SFTP permission", fmt.Errorf("creating /inbox/.f.csv.1.part: %w", os.ErrPermission), Permanent, "sftp_permission_denied"},
		{"known_hosts invalid", fmt.Errorf("%w in PARTNER_SFTP_KNOWN_HOSTS: ssh: short read", sftpdeliver.ErrInvalidKnownHosts), Permanent, "sftp_known_hosts_invalid"},
		{
			name:       "no common SSH algorithm",
			err:        errors.New(`ssh: handshake failed: ssh: no common algorithm for client to server cipher; we offered: ["aes128-gcm@openssh.com"], peer offered: ["aes128-cbc"]`),
			wantClass:  Permanent,
			wantReason: "sftp_algorithms",
		},
		{
			name:       "SSH login rejected",
			err:        errors.New("ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain"),
			wantClass:  Permanent,
			wantReason: "sftp_auth",
		},
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range classifyCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			class, reason := Classify(tc.err)
			if class != tc.wantClass {
				t.Errorf("Classify(%v) class = %s, want %s", tc.err, class, tc.wantClass)
			}
			if reason != tc.wantReason {
				t.Errorf("Classify(%v) reason = %q, want %q", tc.err, reason, tc.wantReason)
			}
		})
	}
}

// TestClassifyWrapped checks that the class survives the wrapping that call
// sites and the AWS SDK add around a vendor error.
func TestClassifyWrapped(t *testing.T) {
	t.Parallel()
	wrappers := []struct {
		name string
		wrap func(error) error
	}{
		{"fmt.Errorf", func(err error) error { return fmt.Errorf("exporting orders: %w", err) }},
		{"twice", func(err error) error {
			return fmt.Errorf("run daily-orders: %w", fmt.Errorf("deliver step: %w", err))
		}},
		{"errors.Join", func(err error) error { return errors.Join(errors.New("closing the pipe failed"), err) }},
		{"AWS operation error", func(err error) error {
			return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: err}
		}},
	}
	for _, wrapper := range wrappers {
		for _, tc := range classifyCases() {
			t.Run(wrapper.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				wrapped := wrapper.wrap(tc.err)
				class, reason := Classify(wrapped)
				if class != tc.wantClass {
					t.Errorf("Classify(%v) class = %s, want %s as for the unwrapped error", wrapped, class, tc.wantClass)
				}
				if reason != tc.wantReason {
					t.Errorf("Classify(%v) reason = %q, want %q as for the unwrapped error", wrapped, reason, tc.wantReason)
				}
			})
		}
	}
}

func TestClassifyNil(t *testing.T) {
	t.Parallel()
	class, reason := Classify(nil)
	if class != Retryable {
		t.Errorf("Classify(nil) class = %s, want %s", class, Retryable)
	}
	if reason != "" {
		t.Errorf("Classify(nil) reason = %q, want empty", reason)
	}
}

func TestMarkPermanentOverridesRule(t *testing.T) {
	t.Parallel()
	err := MarkPermanent("lease_lost", pgError("40001"))

	class, reason := Classify(err)
	if class != Permanent {
		t.Errorf("class = %s, want permanent: the mark wins over a retryable SQLSTATE", class)
	}
	if reason != "lease_lost" {
		t.Errorf("reason = %q, want the marked reason lease_lost", reason)
	}
}

func TestMarkPermanentKeepsError(t *testing.T) {
	t.Parallel()
	cause := pgError("42601")
	err := MarkPermanent("sql_invalid", cause)

	if err.Error() != cause.Error() {
		t.Errorf("Error() = %q, want the cause's text %q unchanged", err.Error(), cause.Error())
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Error("errors.As found no *pgconn.PgError, want the mark to unwrap to its cause")
	}
}

func TestMarkPermanentNil(t *testing.T) {
	t.Parallel()
	if err := MarkPermanent("invalid_message", nil); err != nil {
		t.Errorf("MarkPermanent(reason, nil) = %v, want nil", err)
	}
}

func TestPermanentfWraps(t *testing.T) {
	t.Parallel()
	err := Permanentf("unknown_job", "resolving job: %w", io.EOF)

	if !errors.Is(err, io.EOF) {
		t.Errorf("Permanentf with %%w = %v, want it to wrap io.EOF", err)
	}
	if want := "resolving job: EOF"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}
