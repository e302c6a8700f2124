package pipeline

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/internal/testenv"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// TestProbeFromEnds: an upload to S3 is probed from the source's first and last bytes, with a
// hole between, when it is an MP4 (index at the start or at the end), and gives the duration
// ffprobe finds in the whole file; a Matroska file is downloaded whole first (no spool for
// the MP4s, a spool for it).
func TestProbeFromEnds(t *testing.T) {
	testenv.FFmpeg(t)
	old := probeEnd
	probeEnd = 64 << 10 // the test clips are a few hundred KiB: a real hole
	t.Cleanup(func() { probeEnd = old })
	s3 := testenv.S3(t)
	st, err := assets.NewS3(context.Background(), assets.S3Config{Endpoint: s3.Endpoint, Bucket: "atelier",
		AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, Region: s3.Region, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{store: st, noRun: true})
	src := testenv.Clip(t, testenv.ClipOptions{Duration: 6 * time.Second, Audio: true, GOP: 25})
	dir := t.TempDir()
	remux := func(name string, args ...string) string {
		out := filepath.Join(dir, name)
		cmd := exec.Command("ffmpeg", append(append([]string{"-v", "error", "-y", "-i", src, "-c", "copy"}, args...), out)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, b)
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		file      string
		wantSpool bool
	}{
		{"mp4, index first", src, false},
		{"mp4, index last", remux("last.mp4", "-f", "mp4"), false},
		{"matroska", remux("clip.mkv"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(data)) <= 2*probeEnd {
				t.Fatalf("%d bytes: no hole between the ends", len(data))
			}
			whole, err := media.ProbeFile(context.Background(), tc.file)
			if err != nil {
				t.Fatal(err)
			}
			status, out := e.upload(`{"title": "Ends", "language": "fr"}`, data, nil)
			if status != http.StatusAccepted {
				t.Fatalf("upload: %d %v", status, out)
			}
			id := out["id"].(string)
			rec, err := e.svc.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if rec.SourceLen != whole.Duration {
				t.Errorf("probed duration %s, the whole file's %s", rec.SourceLen, whole.Duration)
			}
			_, err = os.Stat(e.svc.spoolPath(id))
			if spooled := err == nil; spooled != tc.wantSpool {
				t.Errorf("spool present: %v, want %v", spooled, tc.wantSpool)
			}
			if _, err := os.Stat(e.svc.probePath(id)); err == nil {
				t.Error("the probe file is left behind")
			}
		})
	}
}
