package sftpdeliver

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ErrHostKey is wrapped by every host key verification failure.
var ErrHostKey = errors.New("host key verification failed")

// ErrInvalidKnownHosts is wrapped by Dial's error when the known_hosts content is empty or does not parse.
var ErrInvalidKnownHosts = errors.New("invalid known_hosts")

// hostKeyChecker verifies the server's key against known_hosts content.
type hostKeyChecker struct {
	callback ssh.HostKeyCallback
	source   string // the variable the content came from, for messages
}

// newHostKeyChecker parses known_hosts content. The knownhosts package reads
// only files, so the content goes through a private temporary file that is
// removed before this returns.
func newHostKeyChecker(content []byte, source string) (*hostKeyChecker, error) {
	if len(bytes.TrimSpace(content)) == 0 {
		return nil, fmt.Errorf("%w: %s is empty: set it to the partner's known_hosts lines; host keys are always verified", ErrInvalidKnownHosts, source)
	}
	file, err := os.CreateTemp("", "batchport-known-hosts-*")
	if err != nil {
		return nil, fmt.Errorf("writing known_hosts from %s: %w", source, err)
	}
	defer os.Remove(file.Name())
	_, writeErr := file.Write(content)
	closeErr := file.Close()
	if err := errors.Join(writeErr, closeErr); err != nil {
		return nil, fmt.Errorf("writing known_hosts from %s: %w", source, err)
	}
	callback, err := knownhosts.New(file.Name())
	if err != nil {
		return nil, fmt.Errorf("%w in %s: %w: use lines as in ~/.ssh/known_hosts, such as \"[host]:port ssh-ed25519 AAAA...\"", ErrInvalidKnownHosts, source, err)
	}
	return &hostKeyChecker{callback: callback, source: source}, nil
}

// check is an ssh.HostKeyCallback that explains a failure with the presented
// key's fingerprint, so an operator can compare it with what the partner sent.
func (h *hostKeyChecker) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := h.callback(hostname, remote, key)
	if err == nil {
		return nil
	}
	presented := fmt.Sprintf("%s %s", key.Type(), ssh.FingerprintSHA256(key))
	var keyErr *knownhosts.KeyError
	if errors.As(err, &keyErr) && len(keyErr.Want) > 0 {
		return fmt.Errorf("%w for %s: the server presented %s, which does not match the key pinned in %s (%s line %d): "+
			"if the partner changed its key, confirm the new fingerprint with them and update %s",
			ErrHostKey, hostname, presented, h.source, keyErr.Want[0].Key.Type(), keyErr.Want[0].Line, h.source)
	}
	if errors.As(err, &keyErr) {
		return fmt.Errorf("%w for %s: the server presented %s, and %s has no key for this host: "+
			"confirm the fingerprint with the partner and add the key to %s", ErrHostKey, hostname, presented, h.source, h.source)
	}
	return fmt.Errorf("%w for %s: %w", ErrHostKey, hostname, err)
}

// algorithms returns the host key algorithms of the keys pinned for address,
// so the handshake requests a key that can match. A server with ed25519 and
// rsa keys, of which only rsa is pinned, must be asked for rsa.
func (h *hostKeyChecker) algorithms(address string) []string {
	probe := probeKey{}
	err := h.callback(knownhosts.Normalize(address), &net.TCPAddr{}, probe)
	var keyErr *knownhosts.KeyError
	if !errors.As(err, &keyErr) {
		return nil
	}
	var algorithms []string
	for _, known := range keyErr.Want {
		for _, algorithm := range algorithmsForKeyType(known.Key.Type()) {
			if !slices.Contains(algorithms, algorithm) {
				algorithms = append(algorithms, algorithm)
			}
		}
	}
	return algorithms
}

func algorithmsForKeyType(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// probeKey is a key no known_hosts line can match, used to list the pinned keys.
type probeKey struct{}

func (probeKey) Type() string                        { return "batchport-probe" }
func (probeKey) Marshal() []byte                     { return []byte("batchport-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe key cannot verify") }
