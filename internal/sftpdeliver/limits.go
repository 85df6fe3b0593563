package sftpdeliver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"
)

// SFTP request sizes. defaultRequestSize is pkg/sftp's default, the size its
// documentation expects all servers to support. A server that reports larger
// limits through the limits@openssh.com extension gets requests up to
// maxRequestSize; OpenSSH's sftp-server reports 261120 bytes. A 488 MB upload
// to the local sshd then took 0.9-1.2 s instead of 1.1-1.5 s, with less CPU.
const (
	defaultRequestSize = 32 << 10
	maxRequestSize     = 255 << 10
)

const (
	packetInit          = 1
	packetVersion       = 2
	packetExtended      = 200
	packetExtendedReply = 201
	limitsExtension     = "limits@openssh.com"
	// maxNegotiationPacket bounds the replies read here: a version packet
	// and its extensions, or the limits reply.
	maxNegotiationPacket = 64 << 10
)

// requestSize returns the largest read and write request the server on
// client accepts, up to maxRequestSize. It requests the limits on a separate SFTP session.
// A server without the limits extension, or any failure to ask, gives
// defaultRequestSize.
func requestSize(client *ssh.Client) int {
	session, err := client.NewSession()
	if err != nil {
		return defaultRequestSize
	}
	defer session.Close()
	input, err := session.StdinPipe()
	if err != nil {
		return defaultRequestSize
	}
	output, err := session.StdoutPipe()
	if err != nil {
		return defaultRequestSize
	}
	if err := session.RequestSubsystem("sftp"); err != nil {
		return defaultRequestSize
	}
	size, err := negotiateRequestSize(input, output)
	if err != nil {
		return defaultRequestSize
	}
	return size
}

// negotiateRequestSize starts an SFTP version 3 session on w and r and, if
// the server offers the limits extension, requests its read and write limits.
func negotiateRequestSize(w io.Writer, r io.Reader) (int, error) {
	if err := writePacket(w, []byte{packetInit, 0, 0, 0, 3}); err != nil {
		return 0, err
	}
	kind, body, err := readPacket(r)
	if err != nil {
		return 0, err
	}
	if kind != packetVersion || len(body) < 4 {
		return 0, fmt.Errorf("sftp server responded to init with packet type %d, expected version", kind)
	}
	if !hasExtension(body[4:], limitsExtension) {
		return defaultRequestSize, nil
	}

	const requestID = 1
	request := binary.BigEndian.AppendUint32([]byte{packetExtended}, requestID)
	request = binary.BigEndian.AppendUint32(request, uint32(len(limitsExtension)))
	request = append(request, limitsExtension...)
	if err := writePacket(w, request); err != nil {
		return 0, err
	}
	kind, body, err = readPacket(r)
	if err != nil {
		return 0, err
	}
	// The reply: request id, then max packet, read, write lengths and open handles, each a uint64.
	if kind != packetExtendedReply || len(body) < 4+4*8 || binary.BigEndian.Uint32(body) != requestID {
		return 0, fmt.Errorf("sftp server responded to %s with an invalid reply (packet type %d)", limitsExtension, kind)
	}
	maxRead := binary.BigEndian.Uint64(body[12:])
	maxWrite := binary.BigEndian.Uint64(body[20:])
	size := min(maxRead, maxWrite, maxRequestSize)
	if size < defaultRequestSize {
		// Zero means no limit was given. Below the default, keep the default every server takes.
		return defaultRequestSize, nil
	}
	return int(size), nil
}

// hasExtension reports whether a version packet's extension pairs name extension.
func hasExtension(pairs []byte, extension string) bool {
	for len(pairs) > 0 {
		name, rest, ok := cutString(pairs)
		if !ok {
			return false
		}
		_, rest, ok = cutString(rest)
		if !ok {
			return false
		}
		if string(name) == extension {
			return true
		}
		pairs = rest
	}
	return false
}

func cutString(b []byte) (value, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

func writePacket(w io.Writer, payload []byte) error {
	packet := binary.BigEndian.AppendUint32(nil, uint32(len(payload)))
	_, err := w.Write(append(packet, payload...))
	return err
}

// readPacket reads one SFTP packet and returns its type and the bytes after it.
func readPacket(r io.Reader) (byte, []byte, error) {
	var header [4]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return 0, nil, err
	}
	length := binary.BigEndian.Uint32(header[:])
	if length == 0 || length > maxNegotiationPacket {
		return 0, nil, errors.New("sftp packet length out of range")
	}
	payload := make([]byte, length)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return payload[0], payload[1:], nil
}
