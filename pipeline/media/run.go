package media

import (
	"bytes"
	"codeberg.org/atelier/atelier/internal/proc"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
)

// Paths of the tools; tests and deployments may point them elsewhere. Every run of ffmpeg in
// Atelier uses FFmpegPath, pipeline/transcribe's audio extraction included.
var (
	FFmpegPath  = "ffmpeg"
	FFprobePath = "ffprobe"
)

// Error is a failed ffmpeg or ffprobe run. Its text carries a hint for the
// user when stderr matched a known line, and the tail of stderr.
type Error struct {
	Tool   string   // "ffmpeg" or "ffprobe"
	Args   []string // the arguments (for the log)
	Stderr string   // the last 16 KiB of stderr, trimmed
	Hint   string   // a sentence a person can act on, or ""
	Err    error    // the exec error
	// notMedia is set when the hint shows the input is not usable media.
	notMedia bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Tool)
	b.WriteString(": ")
	if e.Hint != "" {
		b.WriteString(e.Hint)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	if tail := lastLines(e.Stderr, 6); tail != "" {
		b.WriteString(": ")
		b.WriteString(tail)
	}
	return b.String()
}

// Unwrap exposes the exec error, and ErrNotMedia when the input is not media.
func (e *Error) Unwrap() []error {
	if e.notMedia {
		return []error{ErrNotMedia, e.Err}
	}
	return []error{e.Err}
}

// hints maps known stderr lines to advice (owncast's idea). The first match wins.
var hints = []struct {
	needle   string
	hint     string
	notMedia bool
}{
	{"moov atom not found", "the MP4 file is truncated or was not finalised (incomplete upload or recording)", true},
	{"Invalid data found when processing input", "the file is not a readable audio or video file, or it is corrupted", true},
	{"Unsafe file name", "the file is a playlist referring to other files; upload the media itself", true},
	{"does not contain any stream", "the file holds no audio or video stream", true},
	{"No space left on device", "the server ran out of disk space", false},
	{"Unknown encoder", "this ffmpeg lacks a required encoder (libx264/aac)", false},
	{"Error while decoding stream", "the source has corrupted frames; try the reencode cut mode", false},
	{"Permission denied", "a file could not be opened (permissions)", false},
}

// refusedDemuxer finds the demuxer that ffmpeg detected and the whitelist refused:
// "[lrc @ 0x55…] Format not on whitelist 'mov,…'".
var refusedDemuxer = regexp.MustCompile(`\[(\w+) @ 0x[0-9a-f]+\] Format not on whitelist`)

// playlistDemuxers are the refused formats that name other files or URLs. Any other refused
// format is a file ffmpeg guessed as something that is not a recording: random bytes are
// sometimes probed as lyrics (lrc) or subtitles, and calling them a playlist misleads.
var playlistDemuxers = map[string]bool{"hls": true, "applehttp": true, "concat": true, "dash": true, "image2": true}

func hintFor(stderr string) (string, bool) {
	if strings.Contains(stderr, "not on whitelist") {
		if m := refusedDemuxer.FindStringSubmatch(stderr); m != nil && !playlistDemuxers[m[1]] {
			return "the file is not a readable audio or video file (ffmpeg reads it as " + m[1] + ")", true
		}
		return "the file is a playlist or refers to other files or URLs; upload the media itself", true
	}
	for _, h := range hints {
		if strings.Contains(stderr, h.needle) {
			return h.hint, h.notMedia
		}
	}
	return "", false
}

// lastLines returns the last n non-empty lines of s joined by " | ".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var out []string
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			out = append(out, l)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return strings.Join(out, " | ")
}

// runFFmpeg runs ffmpeg with args (which must not name the program). It adds
// the global options that make progress machine-readable. onTick, if not
// nil, receives every progress block.
func runFFmpeg(ctx context.Context, args []string, onTick func(tick)) error {
	full := append([]string{"-hide_banner", "-nostdin", "-y", "-nostats", "-progress", "pipe:1"}, args...)
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = readProgress(pr, onTick)
		_, _ = io.Copy(io.Discard, pr)
	}()
	err := execTool(ctx, FFmpegPath, full, pw)
	pw.Close()
	<-done
	return err
}

// runFFprobe runs ffprobe and returns its stdout.
func runFFprobe(ctx context.Context, args []string) ([]byte, error) {
	var out bytes.Buffer
	err := execTool(ctx, FFprobePath, append([]string{"-hide_banner"}, args...), &out)
	return out.Bytes(), err
}

// execTool runs a tool through internal/proc (the one runner of external programs) and turns
// its failure into an *Error with the hint its stderr matches.
func execTool(ctx context.Context, bin string, args []string, stdout io.Writer) error {
	stderr, err := proc.Run(ctx, bin, args, proc.Options{Stdout: stdout})
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("media: %s stopped: %w", bin, ctxErr)
	}
	hint, notMedia := hintFor(stderr)
	name := bin
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
		err = fmt.Errorf("start: %w", err)
	}
	return &Error{Tool: name, Args: args, Stderr: stderr, Hint: hint, Err: err, notMedia: notMedia}
}
