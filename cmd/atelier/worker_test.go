package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestSeveralMachinesConfig: what an installation of several processes cannot work with is
// refused at start with exit code 2 and the way out; what it can is accepted.
func TestSeveralMachinesConfig(t *testing.T) {
	dir := t.TempDir()
	refused := []struct {
		name string
		args []string
		want string
	}{
		{"postgres with local media", []string{"serve", "-db", "postgres://atelier@db.example.org/atelier"}, "-storage-shared"},
		{"worker with no job", []string{"worker", "-workers", "0"}, "at least 1 job"},
		{"negative workers", []string{"serve", "-workers", "-1"}, "-workers -1"},
		{"short lease", []string{"worker", "-job-lease", "1s"}, "-job-lease 1s"},
		{"metrics on the public listener", []string{"serve", "-metrics-addr", "127.0.0.1:8080"}, "must differ from -addr"},
		{"bad metrics address", []string{"worker", "-metrics-addr", "9090"}, "-metrics-addr"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ATELIER_DATA_DIR", dir)
			var errOut bytes.Buffer
			err := run(context.Background(), tc.args, io.Discard, &errOut)
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want exit code 2 mentioning %q", err, tc.want)
			}
		})
	}
	accepted := [][]string{
		{"-db", "postgres://atelier@db.example.org/atelier", "-storage-shared"},
		{"-db", "postgres://atelier@db.example.org/atelier", "-s3-endpoint", "s3.example.org", "-s3-access-key", "a", "-s3-secret-key", "b"},
		{"-workers", "0"},
	}
	for _, args := range accepted {
		var cfg Config
		fs := newFlagSet("serve", "serve", io.Discard)
		cfg.registerServe(fs)
		if err := parseFlags(fs, append([]string{"-data-dir", dir}, args...)); err != nil {
			t.Fatal(err)
		}
		if err := cfg.finishServe(); err != nil {
			t.Errorf("%v: %v, want it accepted", args, err)
		}
	}
}
