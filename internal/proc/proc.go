// Package proc is the one place Atelier starts an external program that runs to completion:
// ffmpeg and ffprobe (pipeline/media), pocketsphinx and the transcribe command
// (pipeline/transcribe). Programs are started with exec.CommandContext, never through a shell;
// on cancellation they get SIGINT (ffmpeg then closes its output properly) and are killed after
// a delay; the tail of stderr is kept for the error message.
package proc

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// StderrTail is how much of a program's stderr Run keeps.
const StderrTail = 16 << 10

// WaitDelay is how long a cancelled program gets to exit after SIGINT before it is killed.
const WaitDelay = 5 * time.Second

// Options are the optional parts of a run; the zero value inherits the environment and drops
// stdout.
type Options struct {
	Stdout io.Writer // nil: discarded
	Env    []string  // nil: the environment of this process
}

// Run runs path with args and waits for it. It returns the last StderrTail bytes of stderr
// (trimmed) with the error of the run: ctx's error when ctx ended first, else the exec error
// (*exec.ExitError for a non-zero exit).
func Run(ctx context.Context, path string, args []string, o Options) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout = o.Stdout
	cmd.Env = o.Env
	tail := &Tail{Max: StderrTail}
	cmd.Stderr = tail
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = WaitDelay
	err := cmd.Run()
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return tail.String(), err
}

// Tail is an io.Writer that keeps the last Max bytes written to it; it is safe for concurrent
// use (a process's stdout and stderr may share one).
type Tail struct {
	Max int

	mu  sync.Mutex
	buf []byte
}

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.Max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns what is kept, trimmed; once bytes were dropped, from the first whole line.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.buf)
	if len(t.buf) >= t.Max { // drop the partial first line
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return strings.TrimSpace(s)
}
