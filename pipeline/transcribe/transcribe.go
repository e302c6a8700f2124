// Package transcribe makes automatic caption drafts from a recording's audio. A Transcriber turns
// a 16 kHz mono WAV file (see ExtractAudio) into timed cues; two backends exist: Pocketsphinx
// (offline, English, Debian's pocketsphinx packages) and Command (any external program, e.g. a
// whisper.cpp install, named by ATELIER_TRANSCRIBE_CMD).
package transcribe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/asticode/go-astisub"

	"codeberg.org/atelier/atelier/pipeline/subtitle"
)

// Transcriber makes timed cues from speech. audioWAV is a local 16 kHz mono 16-bit WAV file (as
// ExtractAudio writes it); lang is a BCP 47 tag. Cue times are in the audio's time.
type Transcriber interface {
	Transcribe(ctx context.Context, audioWAV string, lang string) (*astisub.Subtitles, error)
}

// ErrUnsupportedLang is returned by a backend that cannot transcribe the language asked for. It
// is subtitle.ErrUnsupportedLang, so that subtitle.Tracks can tell it apart without importing
// this package.
var ErrUnsupportedLang = subtitle.ErrUnsupportedLang

// ErrNoSpeech is returned when the audio yields no words.
var ErrNoSpeech = errors.New("transcribe: no speech recognised")

// Backends, as named in configuration (ATELIER_TRANSCRIBE).
const (
	BackendOff          = "off"
	BackendPocketsphinx = "pocketsphinx"
	BackendCommand      = "command"
)

// New returns the backend named by backend ("", "off", "pocketsphinx" or "command"); command is
// the program and its arguments for the "command" backend. With "" or "off" it returns nil, nil:
// automatic captions are disabled.
func New(backend, command string) (Transcriber, error) {
	switch strings.ToLower(strings.TrimSpace(backend)) {
	case "", BackendOff:
		return nil, nil
	case BackendPocketsphinx:
		return &Pocketsphinx{}, nil
	case BackendCommand:
		return NewCommand(command)
	}
	return nil, fmt.Errorf("transcribe: unknown backend %q (want off, pocketsphinx or command)", backend)
}

// ExtractAudioArgs are the ffmpeg arguments that write src's first audio stream to dstWAV as
// 16 kHz mono 16-bit PCM, the input speech recognisers expect. With keep, only those source
// ranges are kept, back to back (the replay's audio, without cutting the video). Paths are given
// as file: URLs and only file and pipe protocols are allowed, so a crafted input cannot make
// ffmpeg open a URL.
func ExtractAudioArgs(src, dstWAV string, keep ...subtitle.Span) []string {
	args := []string{
		"-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-protocol_whitelist", "file,pipe",
		"-i", "file:" + src,
		"-map", "0:a:0", "-vn", "-sn", "-dn",
	}
	if spans := subtitle.NormalizeSpans(keep); len(spans) > 0 {
		var sel []string
		for _, s := range spans {
			sel = append(sel, fmt.Sprintf("between(t,%s,%s)", secs(s.Start), secs(s.End)))
		}
		args = append(args, "-af", "aselect='"+strings.Join(sel, "+")+"',asetpts=N/SR/TB")
	}
	return append(args, "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", "-f", "wav", "file:"+dstWAV)
}

// secs writes d in seconds with microseconds, as ffmpeg expressions read them.
func secs(d time.Duration) string {
	return fmt.Sprintf("%d.%06d", d/time.Second, (d%time.Second)/time.Microsecond)
}

// ExtractAudio runs ffmpeg (from PATH) with ExtractAudioArgs.
func ExtractAudio(ctx context.Context, src, dstWAV string, keep ...subtitle.Span) error {
	if _, err := run(ctx, "ffmpeg", ExtractAudioArgs(src, dstWAV, keep...), nil); err != nil {
		return fmt.Errorf("transcribe: extract audio: %w", err)
	}
	return nil
}

const stderrTail = 16 << 10

// tailBuffer keeps the last stderrTail bytes written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > stderrTail {
		t.b = t.b[len(t.b)-stderrTail:]
	}
	return len(p), nil
}

// run executes name with args (never through a shell), returns its stdout, and on failure an
// error carrying the tail of its stderr. On cancel the process gets SIGINT, then is killed.
func run(ctx context.Context, name string, args []string, env []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 5 * time.Second
	if env != nil {
		cmd.Env = env
	}
	var stdout bytes.Buffer
	var stderr tailBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", name, ctx.Err())
		}
		tail := strings.TrimSpace(string(stderr.b))
		if tail == "" {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, fmt.Errorf("%s: %w: %s", name, err, tail)
	}
	return stdout.Bytes(), nil
}
