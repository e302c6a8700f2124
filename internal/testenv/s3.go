package testenv

import (
	"codeberg.org/atelier/atelier/internal/proc"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// S3Server is a versitygw process serving S3 on 127.0.0.1 from a posix
// backend in a temp directory.
type S3Server struct {
	Endpoint  string // "127.0.0.1:port", for minio-go (plain http)
	AccessKey string
	SecretKey string
	Region    string
	// Dir is the posix backend: bucket b's object k is the file Dir/b/k.
	Dir string
	// Cmd is the running process (replaced by Restart).
	Cmd *exec.Cmd

	bin  string
	mu   sync.Mutex
	done chan struct{} // closed when Cmd has exited
	logs *proc.Tail
}

// VersityGW returns the versitygw binary: $ATELIER_VERSITYGW when set,
// else <repo>/.cache/bin/versitygw, else versitygw on PATH.
func VersityGW() (string, error) {
	if p := os.Getenv("ATELIER_VERSITYGW"); p != "" {
		return exec.LookPath(p)
	}
	if root := RepoRoot(); root != "" {
		p := filepath.Join(root, ".cache", "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath("versitygw")
	if err != nil {
		return "", fmt.Errorf("%w (set ATELIER_VERSITYGW, or: GOBIN=%s go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)",
			err, filepath.Join(RepoRoot(), ".cache", "bin"))
	}
	return p, nil
}

// S3 starts a versitygw with fresh random keys and an empty backend, waits
// until it answers and stops it when the test ends. Without the binary the
// test is skipped, or fails under RequireAll.
func S3(t testing.TB) *S3Server {
	t.Helper()
	bin, err := VersityGW()
	Require(t, "versitygw (S3 test server)", err)
	s, err := StartS3(bin, filepath.Join(t.TempDir(), "s3"))
	if err != nil {
		t.Fatalf("testenv: s3: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartS3 starts the versitygw at bin with fresh random keys and an empty
// posix backend in dir (created), and waits until it answers. The caller
// stops it with Stop. S3 is the same for tests; the bench command calls this.
func StartS3(bin, dir string) (*S3Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &S3Server{
		AccessKey: RandHex(10),
		SecretKey: RandHex(20),
		Region:    "us-east-1",
		Dir:       dir,
		bin:       bin,
	}
	var lastErr error
	for range 3 { // a free port can be taken by someone else before we bind it
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		s.Endpoint = "127.0.0.1:" + strconv.Itoa(port)
		if lastErr = s.start(); lastErr == nil {
			return s, nil
		}
	}
	return nil, lastErr
}

// Kill sends SIGKILL to the server and waits until it is gone.
func (s *S3Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Cmd == nil || s.Cmd.Process == nil {
		return
	}
	_ = s.Cmd.Process.Kill()
	<-s.done
}

// Restart starts a new server on the same backend directory, address and
// keys, after Kill (or stops the running one first).
func (s *S3Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	var err error
	for range 50 { // the old socket may linger for a moment
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("testenv: s3: restart: %v", err)
}

// start runs versitygw and waits until it answers HTTP.
func (s *S3Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.bin,
		"--access", s.AccessKey,
		"--secret", s.SecretKey,
		"--region", s.Region,
		"--port", s.Endpoint,
		"--keep-alive",
		"--quiet",
		"posix", s.Dir)
	s.logs = &proc.Tail{Max: 16 << 10}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.Cmd, s.done = cmd, done

	// Any HTTP answer (403 without credentials) means it serves.
	if err := WaitHTTP(context.Background(), "http://"+s.Endpoint+"/", done, 20*time.Second); err != nil {
		if !errors.Is(err, errExited) {
			_ = cmd.Process.Kill()
			<-done
		}
		return fmt.Errorf("versitygw on %s: %w; output:\n%s", s.Endpoint, err, s.logs)
	}
	return nil
}

var errExited = errors.New("exited before answering")

// WaitHTTP waits until url gives any HTTP answer, for at most limit, or until
// done closes (the server exited) or ctx ends.
func WaitHTTP(ctx context.Context, url string, done <-chan struct{}, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-done:
			return errExited
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer on %s within %s: %w", url, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop asks the server to exit, and kills it after 5 s.
func (s *S3Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Cmd == nil || s.Cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.Cmd.Process.Kill()
		<-s.done
	}
}

// Logs returns the last 16 KiB the server printed.
func (s *S3Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// FreePort returns a TCP port free on 127.0.0.1 at the time of the call.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("not a TCP address")
	}
	return addr.Port, nil
}

// RandHex returns n random bytes in hex, for keys and tokens.
func RandHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
