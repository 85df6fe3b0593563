// Package sftpdeliver delivers a file to a partner's SFTP server so that the
// final name appears only with the complete, size-checked content.
package sftpdeliver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// Target is one SFTP server and the credentials for it. PrivateKey and
// KnownHosts are contents, not paths; KeySource and KnownHostsSource name
// where they came from, for error messages that never show the secret itself.
type Target struct {
	Address          string
	User             string
	PrivateKey       []byte
	KeySource        string
	KnownHosts       []byte
	KnownHostsSource string
}

// ErrInvalidKey is wrapped by Dial's error when the private key does not parse.
var ErrInvalidKey = errors.New("not a usable private key")

// dialTimeout bounds the TCP connect and the SSH handshake.
const dialTimeout = 30 * time.Second

// cancelGrace is how long a cancelled Put may take to clean up before its connection is closed.
const cancelGrace = 5 * time.Second

// Client is an open SFTP session.
type Client struct {
	ssh  *ssh.Client
	sftp *sftp.Client
}

// Dial connects and authenticates, verifying the host key against the target's known_hosts.
func Dial(ctx context.Context, target Target) (*Client, error) {
	checker, err := newHostKeyChecker(target.KnownHosts, target.KnownHostsSource)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(target.PrivateKey)
	if err != nil {
		// The parser's message does not include the key, but it is not shown either.
		return nil, fmt.Errorf("%s: %w: use a PEM or OpenSSH key without a passphrase", target.KeySource, ErrInvalidKey)
	}
	config := &ssh.ClientConfig{
		User:              target.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback:   checker.check,
		HostKeyAlgorithms: checker.algorithms(target.Address),
		Timeout:           dialTimeout,
	}
	dialer := net.Dialer{Timeout: dialTimeout}
	conn, err := dialer.DialContext(ctx, "tcp", target.Address)
	if err != nil {
		return nil, fmt.Errorf("connecting to sftp %s: %w", target.Address, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	sshConn, channels, requests, err := ssh.NewClientConn(conn, target.Address, config)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh handshake with %s as %s: %w", target.Address, target.User, err)
	}
	sshClient := ssh.NewClient(sshConn, channels, requests)
	sftpClient, err := sftp.NewClient(sshClient, sftp.UseConcurrentWrites(true))
	if err != nil {
		sshClient.Close()
		return nil, fmt.Errorf("starting sftp on %s: %w", target.Address, err)
	}
	return &Client{ssh: sshClient, sftp: sftpClient}, nil
}

// Close ends the session.
func (c *Client) Close() error {
	return errors.Join(c.sftp.Close(), c.ssh.Close())
}

// Put writes body to remotePath through a temporary name in the same folder,
// checks the temporary file's size against size and calls verify (which
// can check a hash of what body returned), then renames it into place. On
// any error the temporary file is removed and the final name is untouched.
func (c *Client) Put(ctx context.Context, remotePath string, body io.Reader, size int64, verify func() error) error {
	stop := c.CloseOnCancel(ctx)
	defer stop()
	upload, err := c.Create(remotePath)
	if err != nil {
		return contextErr(ctx, err)
	}
	if _, err := upload.ReadFrom(body); err != nil {
		upload.Abort()
		return contextErr(ctx, err)
	}
	return contextErr(ctx, upload.Commit(size, verify))
}

// CloseOnCancel closes the connection if ctx is cancelled and the caller
// has not called the returned stop function within cancelGrace. A
// cancelled ctx normally stops the body being written (an S3 read, a
// COPY), so the write fails and the temporary file can still be removed
// over the open connection; closing it is for a server that stopped answering.
func (c *Client) CloseOnCancel(ctx context.Context) (stop func()) {
	finished := make(chan struct{})
	stopAfter := context.AfterFunc(ctx, func() {
		timer := time.NewTimer(cancelGrace)
		defer timer.Stop()
		select {
		case <-timer.C:
			c.ssh.Close()
		case <-finished:
		}
	})
	return func() {
		close(finished)
		stopAfter()
	}
}

// Upload is a file being written under a temporary name, to be renamed into
// place by Commit or removed by Abort.
type Upload struct {
	client    *Client
	file      *sftp.File
	temporary string
	final     string
	written   int64
}

// Create opens a new temporary file beside remotePath.
func (c *Client) Create(remotePath string) (*Upload, error) {
	temporary, err := temporaryName(remotePath)
	if err != nil {
		return nil, err
	}
	file, err := c.sftp.OpenFile(temporary, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", temporary, err)
	}
	return &Upload{client: c, file: file, temporary: temporary, final: remotePath}, nil
}

// Write appends p to the temporary file; large writes go out as concurrent requests.
func (u *Upload) Write(p []byte) (int, error) {
	n, err := u.file.Write(p)
	u.written += int64(n)
	if err != nil {
		return n, fmt.Errorf("writing %s: %w", u.temporary, err)
	}
	return n, nil
}

// ReadFrom copies r to the temporary file with concurrent write requests.
func (u *Upload) ReadFrom(r io.Reader) (int64, error) {
	n, err := u.file.ReadFrom(r)
	u.written += n
	if err != nil {
		return n, fmt.Errorf("writing %s: %w", u.temporary, err)
	}
	return n, nil
}

// Commit closes the temporary file, checks that it has size bytes, calls
// verify, renames it to the final name and checks the size there. On an
// error before the rename the temporary file is removed.
func (u *Upload) Commit(size int64, verify func() error) error {
	c := u.client
	if err := u.file.Close(); err != nil {
		u.remove()
		return fmt.Errorf("closing %s: %w", u.temporary, err)
	}
	if u.written != size {
		u.remove()
		return fmt.Errorf("writing %s: wrote %d bytes, expected %d", u.temporary, u.written, size)
	}
	if err := c.checkSize(u.temporary, size); err != nil {
		u.remove()
		return err
	}
	if err := verify(); err != nil {
		u.remove()
		return err
	}
	// posix-rename replaces an existing file atomically, as rename(2) does,
	// so a retry after a lost acknowledgement does not fail on its own file.
	if err := c.sftp.PosixRename(u.temporary, u.final); err != nil {
		u.remove()
		return fmt.Errorf("renaming %s to %s: %w", u.temporary, u.final, err)
	}
	return c.checkSize(u.final, size)
}

// Abort closes and removes the temporary file, as far as the connection allows.
func (u *Upload) Abort() {
	_ = u.file.Close()
	u.remove()
}

func (u *Upload) remove() {
	// Best effort: the connection may be gone, and a stale hidden .part file names itself.
	_ = u.client.sftp.Remove(u.temporary)
}

func (c *Client) checkSize(name string, size int64) error {
	info, err := c.sftp.Stat(name)
	if err != nil {
		return fmt.Errorf("checking size of %s: %w", name, err)
	}
	if info.Size() != size {
		return fmt.Errorf("size of %s is %d bytes on the server, expected %d", name, info.Size(), size)
	}
	return nil
}

// temporaryName returns a hidden name beside remotePath that partners
// polling for *.csv will not pick up: ".NAME.RANDOM.part".
func temporaryName(remotePath string) (string, error) {
	random := make([]byte, 6)
	if _, err := rand.Read(random); err != nil {
		return "", fmt.Errorf("choosing a temporary name: %w", err)
	}
	dir, name := path.Split(remotePath)
	return path.Join(dir, "."+name+"."+hex.EncodeToString(random)+".part"), nil
}

func contextErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}
