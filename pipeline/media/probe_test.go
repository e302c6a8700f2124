package media

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

func TestProbeFile(t *testing.T) {
	src := testenv.Clip(t, clip12)
	p, err := ProbeFile(ctxT(t), src)
	if err != nil {
		t.Fatal(err)
	}
	if absDiff(p.Duration, 12*time.Second) > 50*time.Millisecond || !p.HasVideo || !p.HasAudio ||
		p.VideoCodec != "h264" || p.AudioCodec != "aac" || p.PixFmt != "yuv420p" || p.Profile != "High" ||
		p.Width != 320 || p.Height != 240 || p.FrameRate != 25 || p.VFR || p.OpenGOP {
		t.Errorf("probe = %+v", p)
	}
}

// TestBrokenInput: random bytes and a truncated MP4 (an interrupted
// recording: no moov atom) are ErrNotMedia with a hint, for ProbeFile and Cut.
func TestBrokenInput(t *testing.T) {
	testenv.FFmpeg(t)
	dir := t.TempDir()
	random := filepath.Join(dir, "random.bin")
	b := make([]byte, 64<<10)
	rand.Read(b)
	if err := os.WriteFile(random, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// A clip without +faststart keeps its moov at the end: cut it off.
	whole := filepath.Join(dir, "whole.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", testenv.Clip(t, clip12), "-c", "copy", whole).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	data, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.mp4")
	if err := os.WriteFile(truncated, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mp4")
	os.WriteFile(empty, nil, 0o644)
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("just some notes\n"), 0o644)
	// Random bytes are now and then probed as lyrics (lrc), a format the whitelist refuses: a
	// real lyrics file makes that case certain instead of one run in many.
	lyrics := filepath.Join(dir, "song.bin")
	os.WriteFile(lyrics, []byte("[00:01.00]first line\n[00:02.50]second line\n"), 0o644)

	tests := []struct {
		name, path, msg string
	}{
		{"random bytes", random, "not a readable audio or video file"},
		{"truncated mp4", truncated, "truncated"},
		{"empty", empty, "empty"},
		{"text", text, "not a readable audio or video file"},
		{"lyrics", lyrics, "not a readable audio or video file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ProbeFile(ctxT(t), tc.path)
			if !errors.Is(err, ErrNotMedia) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("ProbeFile: err = %v, want ErrNotMedia with %q", err, tc.msg)
			}
			_, err = Cut(ctxT(t), tc.path, []Span{{0, time.Second}}, CutAccurate, filepath.Join(dir, "out.mp4"), nil)
			if !errors.Is(err, ErrNotMedia) {
				t.Errorf("Cut: err = %v, want ErrNotMedia", err)
			}
		})
	}
}

// TestMaliciousPlaylist: an uploaded HLS or ffconcat playlist naming a URL
// and a local file is refused, and neither is opened — by the sniffing in
// ProbeFile/Cut and, underneath, by ffmpeg's whitelists.
func TestMaliciousPlaylist(t *testing.T) {
	testenv.FFmpeg(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var hits atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			c.Close()
		}
	}()
	url := fmt.Sprintf("http://%s/x", ln.Addr())
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.mp4") // a readable local media file
	if out, err := exec.Command("cp", testenv.Clip(t, clip12), secret).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	playlists := map[string]string{
		"evil.m3u8":     "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n" + url + "\n#EXTINF:10,\n/etc/passwd\n#EXTINF:10,\n" + secret + "\n#EXT-X-ENDLIST\n",
		"evil.mp4":      "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://127.0.0.1:1/x\n#EXTINF:10,\n" + url + "\n#EXTINF:10,\n/etc/passwd\n#EXT-X-ENDLIST\n",
		"evil.ffconcat": "ffconcat version 1.0\nfile '" + url + "'\nfile '/etc/passwd'\nfile '" + secret + "'\n",
		"evil.txt":      "\ufeff  ffconcat version 1.0\nfile 'secret.mp4'\n",
	}
	for name, body := range playlists {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := ProbeFile(ctxT(t), path); !errors.Is(err, ErrNotMedia) {
				t.Errorf("ProbeFile: err = %v, want ErrNotMedia", err)
			}
			_, err := Cut(ctxT(t), path, []Span{{0, time.Second}}, CutFast, filepath.Join(dir, "out.mp4"), nil)
			if !errors.Is(err, ErrNotMedia) {
				t.Errorf("Cut: err = %v, want ErrNotMedia", err)
			}
			// Without the sniffing, ffprobe itself must refuse.
			_, err = runFFprobe(ctxT(t), probeArgs(path))
			var fe *Error
			if !errors.As(err, &fe) || !errors.Is(err, ErrNotMedia) {
				t.Errorf("ffprobe on the playlist: err = %v, want a refusal", err)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	if n := hits.Load(); n > 0 {
		t.Errorf("ffmpeg connected %d times to the URL named in a playlist", n)
	}
}

// ProbeStreams tells what ProbeFile tells but the packet scan's flags.
func TestProbeStreams(t *testing.T) {
	src := testenv.Clip(t, clip12)
	full, err := ProbeFile(ctxT(t), src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ProbeStreams(ctxT(t), src)
	if err != nil {
		t.Fatal(err)
	}
	full.VFR, full.OpenGOP = p.VFR, p.OpenGOP
	if fmt.Sprintf("%+v", p) != fmt.Sprintf("%+v", full) {
		t.Errorf("ProbeStreams = %+v\nProbeFile    = %+v", p, full)
	}
	if _, err := ProbeStreams(ctxT(t), filepath.Join(t.TempDir(), "missing.mp4")); err == nil {
		t.Error("ProbeStreams of a missing file: no error")
	}
}
