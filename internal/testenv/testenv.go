// Package testenv starts the real parts that tests need (an S3 server, and
// in other files ffmpeg clips, a database) and decides what their absence
// means: a skip on a developer's machine, a failure in CI.
package testenv

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// RequireAll reports whether every real part must be present: CI=true or
// ATELIER_REQUIRE_ALL=1.
func RequireAll() bool {
	return os.Getenv("CI") == "true" || os.Getenv("ATELIER_REQUIRE_ALL") == "1"
}

// Require does nothing when err is nil. Otherwise what is missing: the test
// fails when RequireAll, and is skipped with the reason when not.
func Require(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if RequireAll() {
		t.Fatalf("%s is required in CI: %v", what, err)
	}
	t.Skipf("%s is not available, skipping (CI=true or ATELIER_REQUIRE_ALL=1 makes this a failure): %v", what, err)
}

var repoRoot = sync.OnceValue(func() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
})

// RepoRoot returns the directory holding go.mod, found by walking up from
// the working directory (a test's package directory), or "" when none is.
func RepoRoot() string { return repoRoot() }
