package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// mediaSpec is the generated recording: testsrc2 + a sine tone, H.264/AAC, fixed GOP.
type mediaSpec struct {
	Seconds       int
	Width, Height int
	FPS           int
	GOP           int // seconds
}

func (m mediaSpec) describe() string {
	return fmt.Sprintf("%d s %dx%d%s H.264 (libx264 veryfast, high) + AAC, %d s closed GOP, testsrc2 + sine",
		m.Seconds, m.Width, m.Height, "p"+strconv.Itoa(m.FPS), m.GOP)
}

func (m mediaSpec) frames() int { return m.Seconds * m.FPS }

// args are the ffmpeg arguments that make the recording at out.
func (m mediaSpec) args(out string) []string {
	gop := strconv.Itoa(m.GOP * m.FPS)
	return []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d:duration=%d", m.Width, m.Height, m.FPS, m.Seconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:sample_rate=48000:duration=%d", m.Seconds),
		"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
		"-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
		"-c:a", "aac", "-b:a", "128k", "-ac", "2",
		"-movflags", "+faststart", "-f", "mp4", out}
}

// ensure returns the cached recording, making it once: the file name is keyed by the
// arguments, so changing any parameter makes a new one.
func (m mediaSpec) ensure(ctx context.Context, cache string) (string, error) {
	h := sha256.Sum256([]byte(strings.Join(m.args("OUT"), "\x00")))
	out := filepath.Join(cache, fmt.Sprintf("rec-%ds-%dp-%s.mp4", m.Seconds, m.Height, hex.EncodeToString(h[:6])))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	logf("generating the recording (%s) into %s, once", m.describe(), out)
	tmp := out + ".tmp.mp4"
	d, _, err := runCmd(exec.CommandContext(ctx, "ffmpeg", m.args(tmp)...))
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("generate media: %w", err)
	}
	logf("generated in %s", d.Round(time.Second))
	return out, os.Rename(tmp, out)
}

// bigVideo returns a real video of at least size bytes, made by looping src with stream copy
// (cheap: no encoding), cached.
func bigVideo(ctx context.Context, cache, src string, size int64) (string, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return "", err
	}
	out := filepath.Join(cache, fmt.Sprintf("upload-%dMiB-%s", size>>20, filepath.Base(src)))
	if fi, err := os.Stat(out); err == nil && fi.Size() >= size {
		return out, nil
	}
	loops := size/fi.Size() + 1
	logf("making a %s video for the upload case (%d loops of the recording, stream copy)", fmtBytes(size), loops+1)
	tmp := out + ".tmp.mp4"
	// -fs stops at the size; ffmpeg still finalises the file, so it stays a valid MP4.
	_, _, err = runCmd(exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-stream_loop", strconv.FormatInt(loops, 10), "-i", src, "-c", "copy", "-fs", strconv.FormatInt(size+(1<<20), 10),
		"-f", "mp4", tmp))
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("make the upload video: %w", err)
	}
	return out, os.Rename(tmp, out)
}
