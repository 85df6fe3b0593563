package e2e

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// tcpProxy forwards a loopback port to a target address and can be taken
// down (connections refused) and brought back on the same port, standing in
// for a partner's server that goes away.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string

	mu       sync.Mutex
	listener net.Listener
}

// newProxy returns a proxy to target on a free port, down until up is called.
func newProxy(t *testing.T, target string) *tcpProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{t: t, target: target, addr: l.Addr().String()}
	l.Close()
	t.Cleanup(p.down)
	return p
}

func (p *tcpProxy) up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: listening on %s again: %v", p.addr, err)
	}
	p.listener = l
	go p.serve(l)
}

func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.listener != nil {
		p.listener.Close()
		p.listener = nil
	}
}

func (p *tcpProxy) serve(l net.Listener) {
	for {
		client, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer client.Close()
			server, err := net.Dial("tcp", p.target)
			if err != nil {
				return
			}
			defer server.Close()
			done := make(chan struct{}, 2)
			go func() { io.Copy(server, client); done <- struct{}{} }()
			go func() { io.Copy(client, server); done <- struct{}{} }()
			<-done
		}()
	}
}

// knownHostsFor rewrites the stack's known_hosts lines for the proxy's
// address, so host keys are verified through it as for the server itself.
func (p *tcpProxy) knownHostsFor(env string, serverAddress string) string {
	_, serverPort, _ := net.SplitHostPort(serverAddress)
	_, proxyPort, _ := net.SplitHostPort(p.addr)
	return strings.ReplaceAll(env, "[127.0.0.1]:"+serverPort, "[127.0.0.1]:"+proxyPort)
}
