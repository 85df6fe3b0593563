package sftpdeliver_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/batchport/batchport/internal/sftpdeliver"
	"github.com/batchport/batchport/internal/testenv"
)

func target(env *testenv.Env, knownHosts string) sftpdeliver.Target {
	return sftpdeliver.Target{
		Address: env.SFTPAddress, User: "partner",
		PrivateKey: []byte(env.SFTPKey), KeySource: "PARTNER_SFTP_KEY",
		KnownHosts: []byte(knownHosts), KnownHostsSource: "PARTNER_SFTP_KNOWN_HOSTS",
	}
}

// knownHostsLine returns the stack's known_hosts line for keyType.
func knownHostsLine(t *testing.T, env *testenv.Env, keyType string) (string, ssh.PublicKey) {
	t.Helper()
	for _, line := range strings.Split(env.SFTPKnownHosts, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 3 && fields[1] == keyType {
			key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(fields[1] + " " + fields[2]))
			if err != nil {
				t.Fatal(err)
			}
			return line + "\n", key
		}
	}
	t.Fatalf("PARTNER_SFTP_KNOWN_HOSTS has no %s line", keyType)
	return "", nil
}

func TestPutRenamesCompleteFile(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	ctx := testenv.Context(t)
	dir := env.NewSFTPDir(t)
	client, err := sftpdeliver.Dial(ctx, target(env, env.SFTPKnownHosts))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer client.Close()

	body := bytes.Repeat([]byte("id,name\n1,a\n"), 100_000)
	verified := false
	err = client.Put(ctx, dir+"/out.csv", bytes.NewReader(body), int64(len(body)), func() error { verified = true; return nil })
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if !verified {
		t.Error("Put did not call verify")
	}
	onDisk := filepath.Join(env.SFTPRoot, dir)
	got, err := os.ReadFile(filepath.Join(onDisk, "out.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("delivered %d bytes, differing from the %d sent", len(got), len(body))
	}
	entries, _ := os.ReadDir(onDisk)
	if len(entries) != 1 {
		t.Errorf("folder has %d entries, want only out.csv (no temporary file left)", len(entries))
	}
}

func TestPutFailedVerifyLeavesNoFile(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	ctx := testenv.Context(t)
	dir := env.NewSFTPDir(t)
	client, err := sftpdeliver.Dial(ctx, target(env, env.SFTPKnownHosts))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer client.Close()

	mismatch := errors.New("hash mismatch")
	err = client.Put(ctx, dir+"/out.csv", strings.NewReader("abc"), 3, func() error { return mismatch })
	if !errors.Is(err, mismatch) {
		t.Fatalf("Put = %v, want the verify error", err)
	}
	err = client.Put(ctx, dir+"/short.csv", strings.NewReader("abc"), 4, func() error { return nil })
	if err == nil || !strings.Contains(err.Error(), "expected 4") {
		t.Fatalf("Put of a short body = %v, want a size error", err)
	}
	entries, _ := os.ReadDir(filepath.Join(env.SFTPRoot, dir))
	if len(entries) != 0 {
		t.Errorf("folder has %d entries after failed puts, want none", len(entries))
	}
}

func TestDialUsesThePinnedKeyType(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	ctx := testenv.Context(t)
	// The server has ed25519 and rsa host keys; only rsa is pinned.
	rsaLine, _ := knownHostsLine(t, env, "ssh-rsa")
	client, err := sftpdeliver.Dial(ctx, target(env, rsaLine))
	if err != nil {
		t.Fatalf("Dial with only the rsa key pinned: %v", err)
	}
	client.Close()
}

func TestDialRejectsChangedHostKey(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	ctx := testenv.Context(t)
	_, serverKey := knownHostsLine(t, env, "ssh-ed25519")
	public, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := ssh.NewPublicKey(public)
	pinned := "[127.0.0.1]:2222 " + string(ssh.MarshalAuthorizedKey(otherKey))

	_, err = sftpdeliver.Dial(ctx, target(env, pinned))
	if !errors.Is(err, sftpdeliver.ErrHostKey) {
		t.Fatalf("Dial = %v, want ErrHostKey", err)
	}
	if !strings.Contains(err.Error(), ssh.FingerprintSHA256(serverKey)) {
		t.Errorf("error %q does not show the presented fingerprint %s", err, ssh.FingerprintSHA256(serverKey))
	}
	if !strings.Contains(err.Error(), "does not match") {
		t.Errorf("error %q does not say the key changed", err)
	}
}

func TestDialRejectsUnknownHost(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	ctx := testenv.Context(t)
	line, _ := knownHostsLine(t, env, "ssh-ed25519")
	otherHost := strings.Replace(line, "[127.0.0.1]:2222", "sftp.partner.example", 1)

	_, err := sftpdeliver.Dial(ctx, target(env, otherHost))
	if !errors.Is(err, sftpdeliver.ErrHostKey) {
		t.Fatalf("Dial = %v, want ErrHostKey", err)
	}
	if !strings.Contains(err.Error(), "SHA256:") || !strings.Contains(err.Error(), "no key for this host") {
		t.Errorf("error %q should show the fingerprint and say the host is unknown", err)
	}
	if _, err := sftpdeliver.Dial(ctx, target(env, "")); err == nil || !strings.Contains(err.Error(), "always verified") {
		t.Errorf("Dial with empty known_hosts = %v, want an error saying host keys are always verified", err)
	}
}

func TestDialErrorHidesPrivateKey(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	bad := target(env, env.SFTPKnownHosts)
	bad.PrivateKey = []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LW1hdGVyaWFs\n-----END OPENSSH PRIVATE KEY-----\n")
	_, err := sftpdeliver.Dial(testenv.Context(t), bad)
	if err == nil {
		t.Fatal("Dial with a broken key succeeded")
	}
	if strings.Contains(err.Error(), "c2VjcmV0") || !strings.Contains(err.Error(), "PARTNER_SFTP_KEY") {
		t.Errorf("error %q should name the variable and not show its content", err)
	}
}

func TestPutFinalNameOnlyWhenComplete(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	ctx := testenv.Context(t)
	dir := env.NewSFTPDir(t)
	client, err := sftpdeliver.Dial(ctx, target(env, env.SFTPKnownHosts))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer client.Close()

	// A partner lists the folder every 100 ms while a 50 MB file uploads.
	const size = 50 << 20
	onDisk := filepath.Join(env.SFTPRoot, dir)
	stop := make(chan struct{})
	observed := make(chan []int64, 1)
	polls := 0
	go func() {
		var sizes []int64
		defer func() { observed <- sizes }()
		ticker := time.NewTicker(100 * time.Millisecond)
		defer ticker.Stop()
		for {
			polls++
			if info, err := os.Stat(filepath.Join(onDisk, "big.csv")); err == nil {
				sizes = append(sizes, info.Size())
			}
			select {
			case <-stop:
				return
			case <-ticker.C:
			}
		}
	}()
	body := io.LimitReader(slowZeros{delay: time.Millisecond}, size)
	err = client.Put(ctx, dir+"/big.csv", body, size, func() error { return nil })
	close(stop)
	sizes := <-observed
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if polls < 5 {
		t.Errorf("the folder was listed %d times during the upload, want at least 5 for the check to mean anything", polls)
	}
	for _, seen := range sizes {
		if seen != size {
			t.Errorf("the partner saw big.csv with %d bytes, want it only complete (%d)", seen, size)
		}
	}
}

// slowZeros returns zero bytes, 256 KiB per read after delay, so an upload takes a while.
type slowZeros struct{ delay time.Duration }

func (z slowZeros) Read(p []byte) (int, error) {
	time.Sleep(z.delay)
	n := min(len(p), 256<<10)
	clear(p[:n])
	return n, nil
}

func TestDialUsesServerRequestLimit(t *testing.T) {
	env := testenv.Require(t)
	known, _ := knownHostsLine(t, env, "ssh-ed25519")
	client, err := sftpdeliver.Dial(t.Context(), target(env, known))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// OpenSSH's sftp-server reports 261120-byte reads and writes through limits@openssh.com.
	if got := client.RequestSize(); got != 261120 {
		t.Fatalf("request size = %d, want 261120", got)
	}
}

func TestDialRejectsInvalidKnownHosts(t *testing.T) {
	env := testenv.Require(t)
	_, err := sftpdeliver.Dial(t.Context(), target(env, "not a known_hosts line\n"))
	if !errors.Is(err, sftpdeliver.ErrInvalidKnownHosts) {
		t.Fatalf("Dial error = %v, want ErrInvalidKnownHosts", err)
	}
}
