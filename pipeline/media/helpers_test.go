package media

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// The shared test clip: 12 s, 320x240, 25 fps, keyframe every 2 s, AAC.
var clip12 = testenv.ClipOptions{Duration: 12 * time.Second, FPS: 25, GOP: 50, Audio: true}

func sec(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// grayFrames decodes path's video to 64x48 gray frames (3072 bytes each),
// to tell frames apart even after a lossy re-encode.
func grayFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	// passthrough: one picture per frame, also of VFR files (rawvideo would make them CFR).
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
		"-vf", "scale=64:48:flags=area,format=gray", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	const n = 64 * 48
	var frames [][]byte
	for len(out) >= n {
		frames = append(frames, out[:n])
		out = out[n:]
	}
	return frames
}

// frameMD5s lists the checksums of path's decoded video frames.
func frameMD5s(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "framemd5", "-").Output()
	if err != nil {
		t.Fatalf("framemd5 %s: %v", path, err)
	}
	var sums []string
	for _, l := range strings.Split(string(out), "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.Split(l, ",")
		sums = append(sums, strings.TrimSpace(f[len(f)-1]))
	}
	return sums
}

func dist(a, b []byte) int {
	d := 0
	for i := range a {
		x := int(a[i]) - int(b[i])
		if x < 0 {
			x = -x
		}
		d += x
	}
	return d
}

// nearest is the index of the source frame closest to f among src[lo:hi].
func nearest(src [][]byte, f []byte, lo, hi int) int {
	best, bi := -1, -1
	for i := max(lo, 0); i < min(hi, len(src)); i++ {
		if d := dist(src[i], f); best < 0 || d < best {
			best, bi = d, i
		}
	}
	return bi
}

// decodeClean fails the test when decoding path reports any error.
func decodeClean(t *testing.T, path string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("decoding %s: %v\n%s", path, err, stderr.String())
	}
}

type streamInfo struct {
	frames   int
	vdur     time.Duration
	adur     time.Duration
	hasAudio bool
}

func countFrames(t *testing.T, path string) streamInfo {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries",
		"stream=codec_type,nb_read_frames,duration", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var si streamInfo
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(strings.TrimSuffix(l, ","), ",")
		if len(f) < 3 {
			continue
		}
		switch f[0] {
		case "video":
			si.vdur = parseSeconds(f[1])
			si.frames = atoi(f[2])
		case "audio":
			si.hasAudio = true
			si.adur = parseSeconds(f[1])
		}
	}
	return si
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func absDiff(a, b time.Duration) time.Duration {
	if a > b {
		return a - b
	}
	return b - a
}

func fmtSscanf(s string, h, m, sec, ms *int) (int, error) {
	return fmt.Sscanf(s, "%d:%d:%d.%d", h, m, sec, ms)
}

// jpegSize reads a JPEG's dimensions.
func jpegSize(t *testing.T, path string) (int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := jpeg.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg.Width, cfg.Height
}
