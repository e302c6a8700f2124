// Package transcribe makes automatic caption drafts from a recording's audio. A Transcriber turns
// a 16 kHz mono WAV file (see ExtractAudio) into timed cues; two backends exist: Pocketsphinx
// (offline, English, Debian's pocketsphinx packages) and Command (any external program, e.g. a
// whisper.cpp install, named by ATELIER_TRANSCRIBE_CMD).
package transcribe

import (
	"bytes"
	"codeberg.org/atelier/atelier/internal/proc"
	"codeberg.org/atelier/atelier/pipeline/media"
	"context"
	"errors"
	"fmt"
	"strings"
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
func ExtractAudioArgs(src, dstWAV string, keep ...media.Span) []string {
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

// ExtractAudio runs ffmpeg (media.FFmpegPath, like every other ffmpeg run) with
// ExtractAudioArgs.
func ExtractAudio(ctx context.Context, src, dstWAV string, keep ...media.Span) error {
	if _, err := run(ctx, media.FFmpegPath, ExtractAudioArgs(src, dstWAV, keep...), nil); err != nil {
		return fmt.Errorf("transcribe: extract audio: %w", err)
	}
	return nil
}

// run executes name with args through internal/proc, returns its stdout, and on failure an
// error carrying the tail of its stderr.
func run(ctx context.Context, name string, args []string, env []string) ([]byte, error) {
	var stdout bytes.Buffer
	tail, err := proc.Run(ctx, name, args, proc.Options{Stdout: &stdout, Env: env})
	switch {
	case err == nil:
		return stdout.Bytes(), nil
	case ctx.Err() != nil, tail == "":
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return nil, fmt.Errorf("%s: %w: %s", name, err, tail)
}
