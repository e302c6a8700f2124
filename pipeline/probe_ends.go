package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// The upload's request probes the source without a local copy of all of it where it can
// (issue #12 §3: the spool that ffprobe read cost a second write of every byte during the
// upload, 2.5 s per 2 GiB). An MP4 or MOV describes itself in its index (moov), at its start or
// at its end, and ffprobe reads the duration, the streams and the packets' times and flags from
// that index: a file of the source's size holding only its first and last probeEnd bytes, with
// holes between, probes as the whole file does. Other containers (Matroska, WebM) may estimate
// their duration from what they read: those are read whole, as before.
var probeEnd int64 = 16 << 20 // a variable for the tests, which probe small files through a hole

// fileLinker is implemented by stores that keep each object in a local file (assets.Dir): the
// spool is then a hard link to the stored source, no copy at all.
type fileLinker interface {
	LinkFile(ctx context.Context, key, dst string) error
}

var _ fileLinker = (*assets.Dir)(nil)

// probePath is the sparse file of the source's ends.
func (s *Service) probePath(id string) string { return filepath.Join(s.workDir(id), "probe") }

// headWriter keeps the first n bytes written in f and drops the rest.
type headWriter struct {
	f    *os.File
	left int64
}

func (h *headWriter) Write(b []byte) (int, error) {
	if h.left > 0 {
		k := min(int64(len(b)), h.left)
		if _, err := h.f.Write(b[:k]); err != nil {
			return 0, err
		}
		h.left -= k
	}
	return len(b), nil
}

// linkSpool makes the spool a hard link of the stored source when the store allows it.
func (u *upload) linkSpool(ctx context.Context) bool {
	l, ok := u.s.cfg.Store.(fileLinker)
	if !ok {
		return false
	}
	u.spool = u.s.spoolPath(u.id)
	return l.LinkFile(ctx, u.sourceKey(), u.spool) == nil
}

// writeEnds completes the probe file f, whose first head bytes are written: the rest of the
// first probeEnd bytes and the last probeEnd bytes come from the stored source (ranged reads),
// and the file takes the source's size with a hole between.
func (u *upload) writeEnds(ctx context.Context, f *os.File, head int64) error {
	size := u.size
	read := func(off, n int64) error {
		if n <= 0 {
			return nil
		}
		rc, _, err := u.s.cfg.Store.Open(ctx, u.sourceKey(), &assets.Range{Offset: off, Length: n})
		if err != nil {
			return err
		}
		defer rc.Close()
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return err
		}
		_, err = io.Copy(struct{ io.Writer }{f}, rc)
		return err
	}
	if err := read(head, min(probeEnd, size)-head); err != nil {
		return err
	}
	tail := max(probeEnd, size-probeEnd)
	if err := read(tail, size-tail); err != nil {
		return err
	}
	return f.Truncate(size)
}

// startProbeFile creates the probe file.
func (u *upload) startProbeFile() (*os.File, error) {
	if err := os.MkdirAll(u.s.workDir(u.id), 0o750); err != nil {
		return nil, err
	}
	u.probeFile = u.s.probePath(u.id)
	return os.Create(u.probeFile)
}

// probeEnds prepares the probe file from the stored source alone (the resumable upload on S3).
func (u *upload) probeEnds(ctx context.Context) error {
	f, err := u.startProbeFile()
	if err != nil {
		return fmt.Errorf("pipeline: probe file of %s: %w", u.id, err)
	}
	err = u.writeEnds(ctx, f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pipeline: probe file of %s: %w", u.id, err)
	}
	return nil
}

// probe describes the source: from the probe file when its ends are enough (MP4, MOV), else from
// the whole source spooled now. The request needs the duration, the picture and the frame rate
// (Limits, the plan): one ffprobe run (media.ProbeStreams), not ProbeFile's two; the job probes
// the source again before it cuts.
func (u *upload) probe(ctx context.Context) (media.Probe, error) {
	if u.probeFile != "" {
		p, err := media.ProbeStreams(ctx, u.probeFile)
		os.Remove(u.probeFile)
		u.probeFile = ""
		if err == nil && p.Duration > 0 && strings.Contains(p.Format, "mp4") {
			return p, nil
		}
		// Not an MP4 or MOV, or an index the ends do not hold: read the whole source.
		u.spool = u.s.spoolPath(u.id)
		if err := u.spoolFromStore(ctx); err != nil {
			return media.Probe{}, err
		}
	}
	return media.ProbeStreams(ctx, u.spool)
}
