package testenv

import (
	"bytes"
	"codeberg.org/atelier/atelier/internal/proc"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// PostgresServer is a PostgreSQL server from Debian's postgresql package, started by the tests
// in a temporary directory and listening on 127.0.0.1 only. One server serves every test of a
// test binary (initdb costs seconds); each test gets a database of its own.
type PostgresServer struct {
	Host string // 127.0.0.1
	Port int
	User string // the superuser, "postgres"

	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	logs *proc.Tail
	bin  string
}

// PostgresBinDir finds the directory of initdb and postgres: $ATELIER_PG_BINDIR, else what
// `pg_config --bindir` names when initdb is there, else the newest /usr/lib/postgresql/N/bin.
// Debian keeps these binaries off PATH.
func PostgresBinDir() (string, error) {
	ok := func(dir string) bool {
		fi, err := os.Stat(filepath.Join(dir, "initdb"))
		return err == nil && fi.Mode()&0o111 != 0
	}
	if dir := os.Getenv("ATELIER_PG_BINDIR"); dir != "" {
		if ok(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("testenv: no initdb in ATELIER_PG_BINDIR=%s", dir)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); ok(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, dir := range dirs {
		if ok(dir) {
			return dir, nil
		}
	}
	return "", errors.New("testenv: PostgreSQL server binaries not found (install Debian's postgresql package: scripts/install-deps.sh test)")
}

func pgMajor(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}

var (
	pgOnce   sync.Once
	pgServer *PostgresServer
	pgErr    error
	pgSeq    atomic.Int64
)

// Postgres returns the URL of a new, empty database on the shared test server, starting the
// server on first use. Without PostgreSQL the test is skipped, or fails under RequireAll. A test
// binary that uses it calls StopPostgres from TestMain (see Main) so no server outlives it.
func Postgres(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() { pgServer, pgErr = startPostgres() })
	Require(t, "PostgreSQL (Debian's postgresql package)", pgErr)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), pgSeq.Add(1))
	if err := pgServer.Exec("postgres", "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}
	t.Cleanup(func() {
		// WITH (FORCE) ends the connections a failed test may have left open.
		if err := pgServer.Exec("postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("testenv: postgres: %v", err)
		}
	})
	return pgServer.URL(name)
}

// PostgresKept returns the URL of database name on the shared test server, creating it on first
// use (created is true then) and keeping it until the server stops: for benchmarks, whose
// seeded database serves every run of the process.
func PostgresKept(tb testing.TB, name string) (url string, created bool) {
	tb.Helper()
	pgOnce.Do(func() { pgServer, pgErr = startPostgres() })
	Require(tb, "PostgreSQL (Debian's postgresql package)", pgErr)
	pgKeptMu.Lock()
	defer pgKeptMu.Unlock()
	if !pgKept[name] {
		if err := pgServer.Exec("postgres", "CREATE DATABASE "+name); err != nil {
			tb.Fatalf("testenv: postgres: %v", err)
		}
		pgKept[name], created = true, true
	}
	return pgServer.URL(name), created
}

var (
	pgKeptMu sync.Mutex
	pgKept   = map[string]bool{}
)

// StopPostgres stops the shared server if a test started it. Safe to call when none was.
func StopPostgres() {
	if pgServer != nil {
		pgServer.Stop()
	}
}

// Main runs a test binary's tests and stops the servers they shared: call it as
// `func TestMain(m *testing.M) { testenv.Main(m) }`.
func Main(m *testing.M) {
	code := m.Run()
	StopPostgres()
	os.Exit(code)
}

// URL is the connection URL of database name on this server.
func (s *PostgresServer) URL(name string) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", s.User, s.Host, s.Port, name)
}

// Exec runs one SQL statement with psql against database name (the harness needs no Go driver).
func (s *PostgresServer) Exec(name, sql string) error {
	cmd := exec.Command(filepath.Join(s.bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", s.Host, "-p", strconv.Itoa(s.Port), "-U", s.User, "-d", name, "-c", sql)
	if _, err := os.Stat(cmd.Path); err != nil {
		cmd.Path, _ = exec.LookPath("psql")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("psql %q: %w: %s", sql, err, bytes.TrimSpace(out))
	}
	return nil
}

// Stop ends the server with a fast shutdown and removes its directory.
func (s *PostgresServer) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT) // fast shutdown: ends sessions, then exits
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	os.RemoveAll(s.dir)
}

// startPostgres runs initdb and postgres. initdb refuses to run as root, so as root both run
// as the postgres system user that Debian's package creates.
func startPostgres() (*PostgresServer, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := pgCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "atelier-pg-")
	if err != nil {
		return nil, err
	}
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
	}
	if cred != nil {
		for _, p := range []string{dir, data, sock} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	s := &PostgresServer{Host: "127.0.0.1", User: "postgres", dir: dir, bin: bin, logs: &proc.Tail{Max: 8 << 10}}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", s.User, "-A", "trust", "-E", "UTF8",
		"--locale=C.UTF-8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("testenv: initdb: %w: %s", err, lastLinesOf(out, 5))
	}
	var lastErr error
	for range 3 { // a free port can be taken by someone else before postgres binds it
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		s.Port = port
		if lastErr = s.start(data, sock, cred); lastErr == nil {
			return s, nil
		}
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

func (s *PostgresServer) start(data, sock string, cred *syscall.Credential) error {
	// Durability is not what the tests check; without fsync the suite runs faster on a slow disk.
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", data, "-p", strconv.Itoa(s.Port),
		"-c", "listen_addresses="+s.Host, "-c", "unix_socket_directories="+sock,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200")
	// Pdeathsig: a test binary killed before StopPostgres still takes its server with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testenv: start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("testenv: postgres exited: %s", s.logs.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), time.Second); err == nil {
			c.Close()
			if s.Exec("postgres", "SELECT 1") == nil {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-done
	return fmt.Errorf("testenv: postgres did not answer within 30 s: %s", s.logs.String())
}

// pgCredential is the postgres system user when running as root, else nil (run as oneself).
func pgCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("testenv: initdb refuses root and there is no postgres user to run it as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func lastLinesOf(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
