package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testAdminToken is the bootstrap admin token of the test servers: 32 characters at least, as
// serve demands.
const testAdminToken = "test-admin-token-0123456789abcdef"

func TestBadConfigExitsWithCode2(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad addr", []string{"serve", "-addr", "nonsense"}, nil, "-addr"},
		{"bad public url", []string{"serve", "-public-url", "ftp://x"}, nil, "-public-url"},
		{"s3 without keys", []string{"serve", "-s3-endpoint", "127.0.0.1:9"}, nil, "S3 storage needs"},
		{"s3 endpoint with scheme", []string{"serve", "-s3-endpoint", "http://127.0.0.1:9", "-s3-access-key", "a", "-s3-secret-key", "b"}, nil, "without a scheme"},
		{"bad log level", []string{"serve", "-log-level", "loud"}, nil, "-log-level"},
		{"bad language", []string{"serve", "-language", "de"}, nil, "-language \"de\": want en or fr"},
		{"empty site name", []string{"serve", "-site-name", " "}, nil, "-site-name"},
		{"unknown flag", []string{"serve", "-nope"}, nil, "flag provided but not defined"},
		{"unknown command", []string{"frobnicate"}, nil, "unknown command"},
		{"no command", nil, nil, "no command"},
		{"short admin token", []string{"serve"}, map[string]string{"ATELIER_ADMIN_TOKEN": "a"}, "at least 32 characters"},
		{"short admin token file", []string{"serve"}, map[string]string{"ATELIER_ADMIN_TOKEN_FILE": shortTokenFile(t, dir)}, "at least 32 characters"},
		{"missing secret file", []string{"serve"}, map[string]string{"ATELIER_ADMIN_TOKEN_FILE": filepath.Join(dir, "missing")}, "ATELIER_ADMIN_TOKEN_FILE"},
		{"token without name", []string{"token", "create", "-data-dir", dir}, nil, "-name is required"},
		{"token bad role", []string{"token", "create", "-data-dir", dir, "-name", "x", "-role", "root"}, nil, "unknown role"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ATELIER_DATA_DIR", dir)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			err := run(context.Background(), tc.args, &out, &errOut)
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != 2 {
				t.Fatalf("err = %v, want exit code 2", err)
			}
			if !strings.Contains(err.Error()+errOut.String(), tc.want) {
				t.Fatalf("error %q (stderr %q) does not mention %q", err, errOut.String(), tc.want)
			}
		})
	}
}

func shortTokenFile(t *testing.T, dir string) string {
	p := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(p, []byte("0123456789abcdef0123456789abcde\n"), 0o600); err != nil { // 31 characters
		t.Fatal(err)
	}
	return p
}

func TestHelpListsCommandsAndFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"serve", "token create", "version"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	out.Reset()
	errOut.Reset()
	err := run(context.Background(), []string{"serve", "-help"}, &out, &errOut)
	if err == nil || !strings.Contains(errOut.String(), "ATELIER_S3_ENDPOINT") {
		t.Fatalf("serve -help: err=%v, output lacks the env names:\n%s", err, errOut.String())
	}
}

// startServer runs `atelier serve` in-process on a free loopback port and returns its base URL.
func startServer(t *testing.T, env map[string]string) (base string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("ATELIER_DATA_DIR", t.TempDir())
	t.Setenv("ATELIER_ADDR", addr)
	t.Setenv("ATELIER_LOG_FORMAT", "json")
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, &logs, &logs) }()
	base = "http://" + addr
	waitServing(t, base, done, &logs)
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = errors.New("serve did not stop within 30 s of the signal")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return base, stop
}

func TestServeHealthReadinessAndAuth(t *testing.T) {
	base, stop := startServer(t, map[string]string{"ATELIER_ADMIN_TOKEN": testAdminToken})

	get := func(path, token string) (*http.Response, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}

	resp, body := get("/healthz", "")
	if resp.StatusCode != 200 || body["status"] != "alive" {
		t.Fatalf("healthz = %d %v", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id on replies")
	}
	resp, body = get("/readyz", "")
	if resp.StatusCode != 200 || body["ready"] != true {
		t.Fatalf("readyz = %d %v", resp.StatusCode, body)
	}
	resp, body = get("/api/whoami", "")
	if resp.StatusCode != 401 || body["error"] == nil || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("whoami without token = %d %v", resp.StatusCode, body)
	}
	resp, body = get("/api/whoami", testAdminToken)
	if resp.StatusCode != 200 || body["role"] != "admin" {
		t.Fatalf("whoami as admin = %d %v", resp.StatusCode, body)
	}
	// Admins manage tokens over HTTP; the new animator token works, and may not manage tokens.
	req, _ := http.NewRequest("POST", base+"/api/tokens", strings.NewReader(`{"name":"Camille","role":"animator"}`))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	cresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	json.NewDecoder(cresp.Body).Decode(&created)
	cresp.Body.Close()
	if cresp.StatusCode != 201 || created.Token == "" {
		t.Fatalf("create token = %d %+v", cresp.StatusCode, created)
	}
	resp, body = get("/api/whoami", created.Token)
	if resp.StatusCode != 200 || body["role"] != "animator" || body["name"] != "Camille" {
		t.Fatalf("whoami as new animator = %d %v", resp.StatusCode, body)
	}
	resp, body = get("/api/tokens", created.Token)
	if resp.StatusCode != 403 || body["error"] == nil {
		t.Fatalf("animator listing tokens = %d %v", resp.StatusCode, body)
	}
	resp, body = get("/api/tokens", testAdminToken)
	if resp.StatusCode != 200 || body["total"] != float64(1) {
		t.Fatalf("admin listing tokens = %d %v", resp.StatusCode, body)
	}
	req, _ = http.NewRequest("DELETE", fmt.Sprintf("%s/api/tokens/%d", base, created.ID), nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	if dresp, err := http.DefaultClient.Do(req); err != nil || dresp.StatusCode != 204 {
		t.Fatalf("revoke = %v %v", dresp, err)
	}
	if resp, _ = get("/api/whoami", created.Token); resp.StatusCode != 401 {
		t.Fatalf("revoked token still accepted: %d", resp.StatusCode)
	}

	resp, body = get("/no/such/route", "")
	if resp.StatusCode != 404 || body["error"] == nil {
		t.Fatalf("unknown route = %d %v", resp.StatusCode, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}

func TestTokenCommandsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "-data-dir", dir, "-name", "Camille", "-role", "animator"}, &out, &errOut); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	secret := strings.TrimSpace(out.String())
	if !strings.HasPrefix(secret, "atl_") {
		t.Fatalf("token = %q", secret)
	}
	out.Reset()
	if err := run(context.Background(), []string{"token", "list", "-data-dir", dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Camille") || strings.Contains(out.String(), secret) {
		t.Fatalf("list output:\n%s", out.String())
	}

	// The created token works against a server on the same data directory, until revoked.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("ATELIER_DATA_DIR", dir)
	t.Setenv("ATELIER_ADDR", addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "-log-level", "error"}, os.Stderr, &bytes.Buffer{}) }()
	status := func() int {
		for i := 0; i < 200; i++ {
			req, _ := http.NewRequest("GET", "http://"+addr+"/api/whoami", nil)
			req.Header.Set("Authorization", "Bearer "+secret)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				return resp.StatusCode
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("server did not start")
		return 0
	}
	if got := status(); got != 200 {
		t.Fatalf("new token: status %d", got)
	}
	if err := run(context.Background(), []string{"token", "revoke", "-data-dir", dir, "1"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != 401 {
		t.Fatalf("revoked token: status %d", got)
	}
	cancel()
	<-done
}

// waitServing waits until the in-process `serve` at base answers /healthz, failing the test with
// its logs when it exits first or does not answer within 20 s.
func waitServing(t *testing.T, base string, done <-chan error, logs fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
