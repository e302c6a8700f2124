package proc

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestTail(t *testing.T) {
	tb := &Tail{Max: 16}
	fmt.Fprint(tb, "line one\nline two\nline three\n")
	if got := tb.String(); got != "line three" {
		t.Errorf("tail = %q", got)
	}
	short := &Tail{Max: 100}
	fmt.Fprint(short, "  only line \n")
	if got := short.String(); got != "only line" {
		t.Errorf("tail = %q", got)
	}
}

func TestRun(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	var out strings.Builder
	stderr, err := Run(context.Background(), sh, []string{"-c", `echo "$X"; echo oops >&2; exit 3`},
		Options{Stdout: &out, Env: []string{"X=from env"}})
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 || stderr != "oops" || out.String() != "from env\n" {
		t.Errorf("Run = %q, %v; stdout %q", stderr, err, out.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := Run(ctx, sh, []string{"-c", "sleep 30"}, Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled Run = %v", err)
	}
}
