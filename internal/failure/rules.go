package failure

import (
	"errors"
	"io/fs"
	"strings"

	"github.com/aws/smithy-go"
	"github.com/batchport/batchport/internal/s3store"
	"github.com/batchport/batchport/internal/sftpdeliver"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pkg/sftp"
)

// rules recognise vendor errors that are permanent. Every vendor error not
// matched here is retryable.
var rules = []func(error) (string, bool){
	backupRule,
	postgresRule,
	awsRule,
	sftpRule,
}

// postgresRule classifies by SQLSTATE class. Syntax and access errors, data
// errors and a read-only violation fail the same way on every retry; a
// serialization failure, a lost connection or an admin shutdown may not.
func postgresRule(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) < 2 {
		return "", false
	}
	switch pgErr.Code[:2] {
	case "42":
		return "sql_invalid", true // syntax error or access rule violation
	case "22":
		return "sql_data", true // data exception, such as a bad cast of a param
	case "28":
		return "database_auth", true // invalid authorization specification
	case "3D":
		return "database_missing", true // invalid catalog name
	case "25":
		if pgErr.Code == "25006" {
			return "sql_read_only", true // read-only SQL transaction
		}
	}
	return "", false
}

// backupRule treats a backup key held by another run, and a backup that
// changed since its export, as permanent: a retry meets the same object.
func backupRule(err error) (string, bool) {
	switch {
	case errors.Is(err, s3store.ErrKeyTaken):
		return "backup_key_taken", true
	case errors.Is(err, s3store.ErrChanged):
		return "backup_changed", true
	}
	return "", false
}

// awsRule treats credential and permission errors and a missing bucket as permanent.
func awsRule(err error) (string, bool) {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return "", false
	}
	switch apiErr.ErrorCode() {
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthorizationHeaderMalformed":
		return "aws_auth", true
	case "NoSuchBucket":
		return "aws_no_such_bucket", true
	}
	return "", false
}

// sftpRule treats a missing path or a denied permission, a host key that
// fails verification, unusable key or known_hosts content, a refused login
// and algorithms that the server and batchport do not share as permanent.
// pkg/sftp returns the no-such-file and permission-denied statuses as
// fs.ErrNotExist and fs.ErrPermission. Only delivery meets those errors,
// because the catalog reads the job's own files before a run starts.
func sftpRule(err error) (string, bool) {
	var status *sftp.StatusError
	if errors.As(err, &status) {
		switch status.FxCode() {
		case sftp.ErrSSHFxPermissionDenied:
			return "sftp_permission_denied", true
		case sftp.ErrSSHFxNoSuchFile:
			return "sftp_no_such_path", true
		}
		return "", false
	}
	switch {
	case errors.Is(err, fs.ErrPermission):
		return "sftp_permission_denied", true
	case errors.Is(err, fs.ErrNotExist):
		return "sftp_no_such_path", true
	case errors.Is(err, sftpdeliver.ErrHostKey):
		return "sftp_host_key", true
	case errors.Is(err, sftpdeliver.ErrInvalidKey):
		return "sftp_key_invalid", true
	case errors.Is(err, sftpdeliver.ErrInvalidKnownHosts):
		return "sftp_known_hosts_invalid", true
	case strings.Contains(err.Error(), "ssh: unable to authenticate"):
		return "sftp_auth", true
	case strings.Contains(err.Error(), "ssh: no common algorithm"):
		return "sftp_algorithms", true
	}
	return "", false
}
