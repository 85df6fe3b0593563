// Package sftpdeliver delivers a file to a partner's SFTP server so that the
// final name appears only with the complete, size-checked content.
package sftpdeliver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"strings"
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
	ssh         *ssh.Client
	sftp        *sftp.Client
	requestSize int
}

// RequestSize returns the size of each read and write request, from the server's reported limits.
func (c *Client) RequestSize() int { return c.requestSize }

// Check parses the target's private key and known_hosts without connecting,
// so that unusable content fails before the work whose result it delivers.
func (t Target) Check() error {
	_, _, err := t.parse()
	return err
}

// parse reads the target's known_hosts and private key.
func (t Target) parse() (*hostKeyChecker, ssh.Signer, error) {
	checker, err := newHostKeyChecker(t.KnownHosts, t.KnownHostsSource)
	if err != nil {
		return nil, nil, err
	}
	signer, err := ssh.ParsePrivateKey(t.PrivateKey)
	if err != nil {
		// The parser's message does not include the key, but it is not shown either.
		return nil, nil, fmt.Errorf("%s: %w: use a PEM or OpenSSH key without a passphrase", t.KeySource, ErrInvalidKey)
	}
	return checker, signer, nil
}

// Dial connects and authenticates, verifying the host key against the target's known_hosts.
func Dial(ctx context.Context, target Target) (*Client, error) {
	checker, signer, err := target.parse()
	if err != nil {
		return nil, err
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
	// ClientConfig.Timeout covers only the TCP connect: a server that
	// accepts and then stops responding would hold the handshake for ever.
	if err := conn.SetDeadline(time.Now().Add(dialTimeout)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connecting to sftp %s: %w", target.Address, err)
	}
	sshConn, channels, requests, err := ssh.NewClientConn(conn, target.Address, config)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh handshake with %s as %s: %w", target.Address, target.User, err)
	}
	sshClient := ssh.NewClient(sshConn, channels, requests)
	size := requestSize(sshClient)
	sftpClient, err := sftp.NewClient(sshClient, sftp.UseConcurrentWrites(true), sftp.MaxPacketUnchecked(size))
	if err != nil {
		sshClient.Close()
		return nil, fmt.Errorf("starting sftp on %s: %w", target.Address, err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		sshClient.Close()
		return nil, fmt.Errorf("connecting to sftp %s: %w", target.Address, err)
	}
	return &Client{ssh: sshClient, sftp: sftpClient, requestSize: size}, nil
}

// Close ends the session. Pending requests fail at once, which also
// unblocks writes to a server that stopped responding.
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
// over the open connection; closing it is for a server that stopped responding.
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

// Create opens a new temporary file beside remotePath, after removing those
// that earlier attempts left there.
func (c *Client) Create(remotePath string) (*Upload, error) {
	temporary, err := temporaryName(remotePath)
	if err != nil {
		return nil, err
	}
	c.removeStale(remotePath)
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
// pkg/sftp's File.ReadFrom sends one request at a time, each waiting for
// its response, unless r has a Len, Size or Stat method. A COPY stream and
// an S3 body have none of them.
func (u *Upload) ReadFrom(r io.Reader) (int64, error) {
	n, err := u.file.ReadFromWithConcurrency(r, 0)
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

// HasFile reports whether remotePath exists with exactly size bytes whose
// SHA-256 is sha256Hex. It reads the file back only when the size matches.
func (c *Client) HasFile(ctx context.Context, remotePath string, size int64, sha256Hex string) (bool, error) {
	info, err := c.sftp.Stat(remotePath)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking %s: %w", remotePath, err)
	}
	if info.Size() != size {
		return false, nil
	}
	stop := c.CloseOnCancel(ctx)
	defer stop()
	file, err := c.sftp.Open(remotePath)
	if err != nil {
		return false, fmt.Errorf("reading %s back: %w", remotePath, err)
	}
	defer file.Close()
	hash := sha256.New()
	if _, err := file.WriteTo(hash); err != nil {
		return false, contextErr(ctx, fmt.Errorf("reading %s back: %w", remotePath, err))
	}
	return hex.EncodeToString(hash.Sum(nil)) == sha256Hex, nil
}

// removeStale removes temporary files that earlier attempts at remotePath
// left behind (".NAME.RANDOM.part"). The caller holds the run's lease, so
// no other writer of this file is at work.
func (c *Client) removeStale(remotePath string) {
	dir, name := path.Split(remotePath)
	entries, err := c.sftp.ReadDir(path.Clean(dir))
	if err != nil {
		return // the create that follows reports a folder that cannot be read
	}
	for _, entry := range entries {
		if strings.HasPrefix(entry.Name(), "."+name+".") && strings.HasSuffix(entry.Name(), ".part") {
			_ = c.sftp.Remove(path.Join(dir, entry.Name()))
		}
	}
}
