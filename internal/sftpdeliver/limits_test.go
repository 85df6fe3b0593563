package sftpdeliver

import (
	"encoding/binary"
	"io"
	"testing"
)

// fakeServer responds to the client's init with version 3 and the given
// extension names and, if limits is not nil, to the limits request with them.
func fakeServer(t *testing.T, server io.ReadWriter, extensions []string, limits []uint64) {
	t.Helper()

	kind, _, err := readPacket(server)
	if err != nil || kind != packetInit {
		t.Errorf("first packet: type %d, %v; want init", kind, err)
		return
	}
	version := []byte{packetVersion, 0, 0, 0, 3}
	for _, name := range extensions {
		version = binary.BigEndian.AppendUint32(version, uint32(len(name)))
		version = append(version, name...)
		version = binary.BigEndian.AppendUint32(version, 1)
		version = append(version, '1')
	}
	if err := writePacket(server, version); err != nil {
		t.Error(err)
		return
	}
	if limits == nil {
		return
	}

	kind, body, err := readPacket(server)
	if err != nil || kind != packetExtended {
		t.Errorf("second packet: type %d, %v; want extended", kind, err)
		return
	}
	reply := append([]byte{packetExtendedReply}, body[:4]...) // the request id
	for _, value := range limits {
		reply = binary.BigEndian.AppendUint64(reply, value)
	}
	if err := writePacket(server, reply); err != nil {
		t.Error(err)
	}
}

// pipes connects a client and a server end in memory.
type pipes struct {
	io.Reader
	io.Writer
}

func negotiate(t *testing.T, extensions []string, limits []uint64) (int, error) {
	toServer, fromClient := io.Pipe()
	toClient, fromServer := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fakeServer(t, pipes{toServer, fromServer}, extensions, limits)
	}()
	size, err := negotiateRequestSize(fromClient, toClient)
	<-done
	return size, err
}

func TestRequestSizeFromLimits(t *testing.T) {
	tests := []struct {
		name       string
		extensions []string
		limits     []uint64 // max packet, read, write lengths, open handles
		want       int
	}{
		{"no extensions", nil, nil, defaultRequestSize},
		{"other extensions only", []string{"fsync@openssh.com"}, nil, defaultRequestSize},
		{"openssh limits", []string{"fsync@openssh.com", limitsExtension}, []uint64{262144, 261120, 261120, 0}, 261120},
		{"smaller read limit", []string{limitsExtension}, []uint64{262144, 65536, 261120, 0}, 65536},
		{"limit above the cap", []string{limitsExtension}, []uint64{1 << 30, 1 << 30, 1 << 30, 0}, maxRequestSize},
		{"limit below the default", []string{limitsExtension}, []uint64{34000, 16384, 16384, 0}, defaultRequestSize},
		{"no limit given", []string{limitsExtension}, []uint64{0, 0, 0, 0}, defaultRequestSize},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			size, err := negotiate(t, test.extensions, test.limits)
			if err != nil {
				t.Fatal(err)
			}
			if size != test.want {
				t.Fatalf("request size = %d, want %d", size, test.want)
			}
		})
	}
}

func TestRequestSizeRejectsShortReply(t *testing.T) {
	// A reply with two of the four values is not a limits reply.
	if _, err := negotiate(t, []string{limitsExtension}, []uint64{262144, 261120}); err == nil {
		t.Fatal("negotiation accepted a short limits reply")
	}
}
