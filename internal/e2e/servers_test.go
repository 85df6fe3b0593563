package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/batchport/batchport/internal/testenv"
)

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port
}

// waitForListener waits until something accepts TCP connections on address.
func waitForListener(t *testing.T, address string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", address, time.Second)
		if err == nil {
			conn.Close()
			return
		}
		select {
		case exitErr := <-exited:
			t.Fatalf("the server for %s exited before it listened: %v", address, exitErr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s 15s after the server started", address)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// process is a server process started by a test, stopped when the test ends.
type process struct {
	t       *testing.T
	name    string
	address string
	logFile string
	command func() *exec.Cmd
	cmd     *exec.Cmd
	done    chan error
}

// start runs the server and waits until it listens.
func (p *process) start() {
	p.t.Helper()
	if p.cmd != nil {
		p.t.Fatalf("%s is already running", p.name)
	}
	log, err := os.OpenFile(p.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	defer log.Close()
	cmd := p.command()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("starting %s: %v", p.name, err)
	}
	p.cmd, p.done = cmd, make(chan error, 1)
	go func() { p.done <- cmd.Wait() }()
	waitForListener(p.t, p.address, p.done)
}

// kill stops the server at once with SIGKILL, as a crash would, and waits for it to exit.
func (p *process) kill() {
	p.t.Helper()
	if p.cmd == nil {
		return
	}
	// A server that exited by itself has nothing left to kill, and its log shows why.
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.t.Fatalf("killing %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatalf("%s did not exit within 10s of SIGKILL", p.name)
	}
	p.cmd = nil
}

// showLog adds the server's log to the test output.
func (p *process) showLog() {
	data, err := os.ReadFile(p.logFile)
	if err == nil && len(data) > 0 {
		p.t.Logf("%s log:\n%s", p.name, data)
	}
}

func newProcess(t *testing.T, name, address string, command func() *exec.Cmd) *process {
	p := &process{t: t, name: name, address: address, logFile: filepath.Join(t.TempDir(), name+".log"), command: command}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.showLog()
		}
	})
	return p
}

// sftpServer is an sshd of its own on a free port, configured like the
// stack's (deploy/local/sshd_config.tmpl): the same host keys, partner user,
// authorized keys and chroot, so a file it receives appears in the test's
// SFTP folder. A test can stop and restart it without touching the shared one.
type sftpServer struct {
	*process
	port int
}

func startSFTPServer(t *testing.T, env *testenv.Env) *sftpServer {
	t.Helper()
	template, err := os.ReadFile(filepath.Join("..", "..", "deploy", "local", "sshd_config.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	port := freePort(t)
	// The same values deploy/local/lib.sh gives up.sh, except the port and the pid file.
	config := strings.NewReplacer(
		"@PORT@", strconv.Itoa(port),
		"@ADDRESS@", "127.0.0.1",
		"@SSH_DIR@", filepath.Join(env.State, "ssh"),
		"@PID_FILE@", filepath.Join(dir, "sshd.pid"),
		"@USER@", "partner",
		"@AUTHORIZED_KEYS_DIR@", filepath.Join(filepath.Dir(env.SFTPRoot), "authorized_keys"),
		"@CHROOT@", env.SFTPRoot,
	).Replace(string(template))
	// A setting line, not a comment, with a placeholder left would mean the template has a new one.
	if placeholder := regexp.MustCompile(`(?m)^[^#\n]*(@[A-Z_]+@)`).FindStringSubmatch(config); placeholder != nil {
		t.Fatalf("deploy/local/sshd_config.tmpl has the placeholder %s, which this test does not fill", placeholder[1])
	}
	configFile := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("/usr/sbin/sshd", "-t", "-f", configFile).CombinedOutput(); err != nil {
		t.Fatalf("sshd rejected %s: %v: %s", configFile, err, out)
	}

	address := fmt.Sprintf("127.0.0.1:%d", port)
	server := &sftpServer{port: port}
	// -D keeps sshd in the foreground, so the test owns its process, and -e sends its log to stderr.
	server.process = newProcess(t, "sshd", address, func() *exec.Cmd {
		return exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", configFile)
	})
	server.start()
	return server
}

// knownHosts returns the stack's known_hosts lines with this server's port in place of the stack's.
func (s *sftpServer) knownHosts(env *testenv.Env) string {
	shared := "[" + strings.Replace(env.SFTPAddress, ":", "]:", 1) + " "
	own := fmt.Sprintf("[127.0.0.1]:%d ", s.port)
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(env.SFTPKnownHosts), "\n") {
		if !strings.HasPrefix(line, shared) {
			s.t.Fatalf("a PARTNER_SFTP_KNOWN_HOSTS line does not start with %q: %q", shared, line)
		}
		lines = append(lines, own+strings.TrimPrefix(line, shared))
	}
	return strings.Join(lines, "\n") + "\n"
}

// s3Server is a versitygw of its own on a free port, with its own data
// folder, so a test can crash and restart it without touching the shared one.
type s3Server struct {
	*process
	endpoint string
	dataDir  string
}

// versitygwBinary returns the path deploy/local/lib.sh gives versitygw as VERSITYGW_BIN.
func versitygwBinary(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("BATCHPORT_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache", "batchport")
	}
	binary := filepath.Join(cache, "bin", "versitygw")
	if _, err := os.Stat(binary); err != nil {
		t.Fatalf("versitygw is missing (%v): run deploy/local/up.sh, or set BATCHPORT_CACHE to the folder it installed into", err)
	}
	return binary
}

func startS3Server(t *testing.T) *s3Server {
	t.Helper()
	binary := versitygwBinary(t)
	dir := t.TempDir()
	dataDir, metaDir := filepath.Join(dir, "data"), filepath.Join(dir, "meta")
	for _, d := range []string{dataDir, metaDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	address := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	server := &s3Server{endpoint: "http://" + address, dataDir: dataDir}
	server.process = newProcess(t, "versitygw", address, func() *exec.Cmd {
		cmd := exec.Command(binary, "--port", address, "--region", region, "--quiet",
			"posix", "--sidecar", metaDir, dataDir)
		// The stack's root credentials, which the environment gives every AWS client.
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+os.Getenv("AWS_ACCESS_KEY_ID"), "ROOT_SECRET_KEY="+os.Getenv("AWS_SECRET_ACCESS_KEY"))
		return cmd
	})
	server.start()
	return server
}

// client returns a path-style S3 client for this server.
func (s *s3Server) client() *s3.Client {
	return s3.NewFromConfig(testenv.AWSConfig(s.t), func(o *s3.Options) {
		o.UsePathStyle = true
		o.BaseEndpoint = aws.String(s.endpoint)
	})
}

func (s *s3Server) newBucket() string {
	s.t.Helper()
	name := testenv.UniqueName("bp-test")
	if _, err := s.client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		s.t.Fatalf("creating bucket %s on %s: %v", name, s.endpoint, err)
	}
	return name
}
