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
	// Screen makes a screen capture instead of testsrc2 (screenArgs).
	Screen bool
}

func (m mediaSpec) describe() string {
	if m.Screen {
		return fmt.Sprintf("%d s %dx%d screen capture, VFR (still slides, text changing every 3 s, a pointer moving 3 s in 10, "+
			"duplicate frames dropped by mpdecimate), H.264 (libx264 veryfast, keyint %d frames) + AAC of speech-like noise",
			m.Seconds, m.Width, m.Height, m.GOP*m.FPS)
	}
	return fmt.Sprintf("%d s %dx%d%s H.264 (libx264 veryfast, high) + AAC, %d s closed GOP, testsrc2 + sine",
		m.Seconds, m.Width, m.Height, "p"+strconv.Itoa(m.FPS), m.GOP)
}

func (m mediaSpec) frames() int { return m.Seconds * m.FPS }

// args are the ffmpeg arguments that make the recording at out.
func (m mediaSpec) args(out string) []string {
	if m.Screen {
		return m.screenArgs(out)
	}
	gop := strconv.Itoa(m.GOP * m.FPS)
	return []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d:duration=%d", m.Width, m.Height, m.FPS, m.Seconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:sample_rate=48000:duration=%d", m.Seconds),
		"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
		"-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
		"-c:a", "aac", "-b:a", "128k", "-ac", "2",
		"-movflags", "+faststart", "-f", "mp4", out}
}

// screenArgs make a workshop-like screen capture: a slide whose title changes every 12 s and
// whose text changes every 3 s, a pointer that moves for 3 s out of every 10, pink noise
// band-passed to the voice range with a syllable-rate envelope and pauses; mpdecimate drops
// the repeated frames, so the frame rate varies as in OBS or Jitsi recordings.
func (m mediaSpec) screenArgs(out string) []string {
	const font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
	gop := strconv.Itoa(m.GOP * m.FPS)
	video := fmt.Sprintf("color=c=0xf4f4f0:s=%dx%d:r=%d:d=%d[bg];color=c=0x202020:s=18x26:r=%d:d=%d[ptr];"+
		"[bg]drawtext=fontfile=%s:text='Diapositive %%{eif\\:floor(t/12)+1\\:d}':fontsize=%d:x=80:y=60:fontcolor=0x103060,"+
		"drawtext=fontfile=%s:text='Étape %%{eif\\:floor(t/3)\\:d} — ouvrir le menu Partage':fontsize=%d:x=80:y=%d:fontcolor=black[slide];"+
		"[slide][ptr]overlay=x='if(lt(mod(t\\,10)\\,3)\\,200+mod(t\\,10)*300\\,1100)':y='if(lt(mod(t\\,10)\\,3)\\,300+mod(t\\,10)*100\\,600)':eval=frame,"+
		"mpdecimate=max=%d,format=yuv420p[v]",
		m.Width, m.Height, m.FPS, m.Seconds, m.FPS, m.Seconds, font, m.Height/12, font, m.Height/20, m.Height/3, m.FPS*2)
	audio := fmt.Sprintf("anoisesrc=c=pink:r=48000:a=0.4:d=%d,bandpass=f=900:width_type=h:w=1400,"+
		"volume='(0.5+0.5*sin(2*PI*3.7*t))*gt(sin(2*PI*0.23*t)\\,-0.6)':eval=frame[a]", m.Seconds)
	return []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-filter_complex", video + ";" + audio, "-map", "[v]", "-map", "[a]", "-fps_mode", "vfr",
		"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-g", gop,
		"-c:a", "aac", "-b:a", "128k", "-ac", "2",
		"-movflags", "+faststart", "-f", "mp4", out}
}

// ensure returns the cached recording, making it once: the file name is keyed by the
// arguments, so changing any parameter makes a new one.
func (m mediaSpec) ensure(ctx context.Context, cache string) (string, error) {
	h := sha256.Sum256([]byte(strings.Join(m.args("OUT"), "\x00")))
	kind := "rec"
	if m.Screen {
		kind = "screen"
	}
	out := filepath.Join(cache, fmt.Sprintf("%s-%ds-%dp-%s.mp4", kind, m.Seconds, m.Height, hex.EncodeToString(h[:6])))
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
