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
// can check a hash of what body returned), then renames it into place. On any error the temporary file is removed and the final name is
// untouched. A cancelled ctx closes the connection, which stops the write.
func (c *Client) Put(ctx context.Context, remotePath string, body io.Reader, size int64, verify func() error) error {
	temporary, err := temporaryName(remotePath)
	if err != nil {
		return err
	}
	// A cancelled ctx stops the body (the S3 read) at once, so the write
	// fails and the temporary file can still be removed. The connection is
	// closed only if that takes longer than cancelGrace, as with a server
	// that stopped answering.
	finished := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		timer := time.NewTimer(cancelGrace)
		defer timer.Stop()
		select {
		case <-timer.C:
			c.ssh.Close()
		case <-finished:
		}
	})
	defer func() {
		close(finished)
		stop()
	}()

	if err := c.write(temporary, body, size); err != nil {
		c.removeQuietly(temporary)
		return contextErr(ctx, err)
	}
	if err := verify(); err != nil {
		c.removeQuietly(temporary)
		return contextErr(ctx, err)
	}
	// posix-rename replaces an existing file atomically, as rename(2) does,
	// so a retry after a lost acknowledgement does not fail on its own file.
	if err := c.sftp.PosixRename(temporary, remotePath); err != nil {
		c.removeQuietly(temporary)
		return contextErr(ctx, fmt.Errorf("renaming %s to %s: %w", temporary, remotePath, err))
	}
	return contextErr(ctx, c.checkSize(remotePath, size))
}

func (c *Client) write(name string, body io.Reader, size int64) error {
	file, err := c.sftp.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("creating %s: %w", name, err)
	}
	written, err := file.ReadFrom(body)
	closeErr := file.Close()
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if closeErr != nil {
		return fmt.Errorf("closing %s: %w", name, closeErr)
	}
	if written != size {
		return fmt.Errorf("writing %s: wrote %d bytes, expected %d", name, written, size)
	}
	return c.checkSize(name, size)
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

func (c *Client) removeQuietly(name string) {
	_ = c.sftp.Remove(name) // best effort: the connection may be gone, and a stale .part file names itself
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
