package media

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// maxCopyGap is the longest keyframe interval the source rendition takes by stream copy: its
// segments cannot be shorter than the source's GOPs, and players buffer a whole segment.
const maxCopyGap = 3 * segmentSeconds * time.Second

// copyBlocker says why video.mp4 (probe p, longest keyframe interval gap) cannot be streamed as
// is, or "". The cut output is H.264 + AAC in every mode, so this is about what browsers play and
// what HLS segments well.
func copyBlocker(p Probe, gap time.Duration) string {
	switch {
	case p.VideoCodec != "h264":
		return fmt.Sprintf("video codec %s is not H.264", p.VideoCodec)
	case p.PixFmt != "yuv420p" && p.PixFmt != "yuvj420p":
		return fmt.Sprintf("pixel format %s is not one browsers play", p.PixFmt)
	case avc1Of(p.Profile, p.Level) == "":
		return fmt.Sprintf("H.264 profile %q is not one browsers play", p.Profile)
	case p.Rotation != 0:
		return fmt.Sprintf("the video is rotated %d°", p.Rotation)
	case p.HasAudio && p.AudioCodec != "aac":
		return fmt.Sprintf("audio codec %s is not AAC", p.AudioCodec)
	case gap > maxCopyGap:
		return fmt.Sprintf("keyframes are up to %s apart (at most %s for HLS segments)", gap.Round(100*time.Millisecond), maxCopyGap)
	}
	return ""
}

// Playable is what RenderPlayable wrote: everything a learner needs to watch the replay, with
// one HLS rendition, and what RenderRung needs to add the others.
type Playable struct {
	Outputs
	// Copied: the first rendition is video.mp4's own stream (hls/source/); else Fallback says
	// why not, and it is a fast encode (hls/720p/ or lower).
	Copied   bool
	Fallback string
	// Rungs are the renditions still to encode (RenderRung), in order.
	Rungs []Rung
	// Keys are the start times of the first rendition's segments (but the first): the rungs
	// put their keyframes there.
	Keys      []time.Duration
	FrameRate float64
	HasAudio  bool
	// Width and Height are the upright picture's; KeyGap is video.mp4's longest keyframe
	// interval (RenderExtras reuses it for the storyboard).
	Width, Height int
	KeyGap        time.Duration
	// NeedsVideo: video.mp4 is not written yet (RenderFastFirst): RenderVideo writes it from
	// the full-quality cut before the extras and the rungs, which read it.
	NeedsVideo bool `json:",omitempty"`
	// Timings are the steps of RenderPlayable and how long each took, for the log.
	Timings []StepTime `json:"-"`
}

// StepTime is how long a step of a render took.
type StepTime struct {
	Step string
	Took time.Duration
}

// timed appends to ts the time since *since as step, and moves *since on.
func timed(ts *[]StepTime, step string, since *time.Time) {
	now := time.Now()
	*ts = append(*ts, StepTime{step, now.Sub(*since)})
	*since = now
}

// RenderPlayable writes into outDir what a learner needs to start watching, as fast as the
// source allows: video.mp4 (+faststart), one HLS rendition with hls/master.m3u8 and
// hls/variants.json, poster.jpg, chapters.vtt. The HLS rendition is the cut output itself by
// stream copy (hls/source/) when it is browser-friendly H.264/AAC with keyframes at most
// maxCopyGap apart (a fraction of a second for a long replay), else a single 720p rung encoded
// fast (copyBlocker says why, in Playable.Fallback). video.mp4 is cutMP4 itself (a hard link)
// when nothing is to change in it: the cut writes +faststart MP4 with one video and one audio
// track, and a remux would rewrite hundreds of megabytes for nothing.
//
// What learners do not need to start watching is left for later: the rest of the ladder
// (Playable.Rungs, RenderRung) and audio.m4a with the storyboard (RenderExtras).
func RenderPlayable(ctx context.Context, cutMP4, outDir string, opt RenderOptions, progress func(Progress)) (Playable, error) {
	if strings.Contains(outDir, "%") {
		// ffmpeg would read it as part of the segment file name pattern.
		return Playable{}, fmt.Errorf("media: render: output directory %q must not contain %%", outDir)
	}
	p, err := probeStreams(ctx, cutMP4)
	if err != nil {
		return Playable{}, fmt.Errorf("media: render: %w", err)
	}
	if !p.HasVideo {
		return Playable{}, fmt.Errorf("media: render: %s has no video stream (audio-only replays are not supported)", filepath.Base(cutMP4))
	}
	if err := os.MkdirAll(filepath.Join(outDir, "hls"), 0o755); err != nil {
		return Playable{}, fmt.Errorf("media: render: %w", err)
	}
	if len(opt.Chapters) > 0 {
		if _, err := ChaptersVTT(opt.Chapters, p.Duration); err != nil {
			return Playable{}, err
		}
	}
	work, err := os.MkdirTemp(outDir, ".render-")
	if err != nil {
		return Playable{}, fmt.Errorf("media: render: %w", err)
	}
	defer os.RemoveAll(work)
	burn := ""
	if opt.BurnIn != "" {
		if burn, err = stageSubtitles(ctx, opt.BurnIn, work); err != nil {
			return Playable{}, err
		}
	}
	tr := newTracker(progress)
	dur := float64(p.Duration)
	mp4W := 0.02
	if opt.Loudnorm {
		mp4W = 0.1
	}
	if burn != "" {
		mp4W = 1
	}
	tr.plan(stage{"mp4", dur * mp4W}, stage{"scan", dur * 0.003}, stage{"hls source", dur * 0.01}, stage{"poster", dur * 0.005})

	var times []StepTime
	since := time.Now()
	video := filepath.Join(outDir, "video.mp4")
	tr.begin(p.Duration)
	if err := writeVideoMP4(ctx, cutMP4, p, opt.Loudnorm, burn, video, tr); err != nil {
		return Playable{}, err
	}
	tr.end()
	timed(&times, "mp4", &since)
	vp, err := probeStreams(ctx, video)
	if err != nil {
		return Playable{}, fmt.Errorf("media: render: check video.mp4: %w", err)
	}
	tr.begin(0)
	pk, err := scanPackets(ctx, video, vp, 0)
	if err != nil {
		return Playable{}, fmt.Errorf("media: render: %w", err)
	}
	tr.end()
	timed(&times, "scan", &since)

	pl := Playable{FrameRate: vp.FrameRate, HasAudio: vp.HasAudio}
	pl.Duration = vp.Duration
	pl.Fallback = copyBlocker(vp, pk.maxKeyGap())
	pl.Copied = pl.Fallback == ""
	w, h := vp.Width, vp.Height
	if vp.Rotation%180 != 0 { // ffmpeg turns the picture upright when encoding
		w, h = h, w
	}
	pl.Width, pl.Height = w, h
	pl.KeyGap = pk.maxKeyGap()
	first, rest := ladderPlan(opt.Ladder, w, h, pl.Copied)
	pl.Rungs = rest
	var v Variant
	if pl.Copied {
		dir := filepath.Join(outDir, "hls", SourceRendition)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Playable{}, fmt.Errorf("media: render: %w", err)
		}
		tr.begin(vp.Duration)
		if err := runFFmpeg(ctx, copyHLSArgs(video, vp.HasAudio, dir), tr.tick); err != nil {
			return Playable{}, fmt.Errorf("media: render hls source: %w", err)
		}
		tr.end()
		if v, err = measureVariant(dir, SourceRendition+"/index.m3u8"); err != nil {
			return Playable{}, err
		}
		v.Width, v.Height = w, h
		v.Codecs = avc1Of(vp.Profile, vp.Level)
		if vp.HasAudio {
			v.Codecs += ",mp4a.40.2"
		}
		v.FrameRate = math.Round(vp.FrameRate*1000) / 1000
	} else {
		tr.stages[tr.idx].weight = dur * rungCost(*first)
		if v, err = encodeRung(ctx, video, outDir, *first, pl.FrameRate, pl.HasAudio, nil, tr); err != nil {
			return Playable{}, err
		}
	}
	if pl.Keys, err = playlistKeys(filepath.Join(outDir, "hls", filepath.FromSlash(v.URI))); err != nil {
		return Playable{}, err
	}
	pl.Variants = []Variant{v}
	if err := WriteLadder(outDir, pl.Variants); err != nil {
		return Playable{}, err
	}
	timed(&times, "hls "+strings.TrimSuffix(v.URI, "/index.m3u8"), &since)
	if err := renderPoster(ctx, video, outDir, w, h, vp.Duration, tr); err != nil {
		return Playable{}, err
	}
	timed(&times, "poster", &since)
	pl.Timings = times
	if len(opt.Chapters) > 0 {
		ch, err := ChaptersVTT(opt.Chapters, vp.Duration)
		if err != nil {
			return Playable{}, err
		}
		if err := os.WriteFile(filepath.Join(outDir, "chapters.vtt"), ch, 0o644); err != nil {
			return Playable{}, fmt.Errorf("media: render: %w", err)
		}
	}
	if err := os.RemoveAll(work); err != nil {
		return Playable{}, fmt.Errorf("media: render: %w", err)
	}
	if pl.Files, err = listFiles(outDir); err != nil {
		return Playable{}, err
	}
	tr.finish()
	return pl, nil
}

// writeVideoMP4 makes video.mp4 from the cut output in (probe p): a hard link to in when it is
// already what mp4Args would write (a +faststart MP4 of one video and at most one audio track,
// nothing to normalise or burn in), else the remux or encode of mp4Args.
func writeVideoMP4(ctx context.Context, in string, p Probe, loudnorm bool, burn, out string, tr *tracker) error {
	_ = os.Remove(out)
	if !loudnorm && burn == "" {
		want := 1
		if p.HasAudio {
			want = 2
		}
		if lay, err := readMP4Layout(in); err == nil && lay.faststart && lay.tracks == want {
			if err := os.Link(in, out); err == nil {
				return nil
			}
		}
	}
	if err := runFFmpeg(ctx, mp4Args(in, loudnorm, burn, p.HasAudio, out), tr.tick); err != nil {
		return fmt.Errorf("media: render mp4: %w", err)
	}
	return nil
}

// RenderExtras writes the outputs of the replay RenderPlayable wrote into outDir that nobody
// needs to start watching: audio.m4a (when it has sound) and the seek-preview storyboard
// (storyboard.jpg + storyboard.vtt), which decodes the whole video (its keyframes at best).
// It returns the files it wrote, relative to outDir and slash separated; it rewrites nothing
// RenderPlayable wrote.
func RenderExtras(ctx context.Context, outDir string, pl Playable, progress func(Progress)) ([]string, error) {
	video := filepath.Join(outDir, "video.mp4")
	vp, err := probeStreams(ctx, video)
	if err != nil {
		return nil, fmt.Errorf("media: render: %w", err)
	}
	tr := newTracker(progress)
	tr.plan(stage{"audio", float64(vp.Duration) * 0.005}, stage{"storyboard", float64(vp.Duration) * 0.05})
	var files []string
	if vp.HasAudio {
		if err := renderAudio(ctx, video, outDir, vp.Duration, tr); err != nil {
			return nil, err
		}
		files = append(files, "audio.m4a")
	} else {
		tr.end()
	}
	w, h := pl.Width, pl.Height
	if w == 0 || h == 0 { // a Playable saved before these fields
		w, h = vp.Width, vp.Height
		if vp.Rotation%180 != 0 {
			w, h = h, w
		}
	}
	keyGap := pl.KeyGap
	if keyGap == 0 {
		keyGap = -1 // unknown: renderStoryboard scans
	}
	if err := renderStoryboard(ctx, video, outDir, w, h, vp, keyGap, tr); err != nil {
		return nil, err
	}
	files = append(files, "storyboard.jpg", "storyboard.vtt")
	tr.finish()
	return files, nil
}

// FastFirst tells whether the cut of src in mode re-encodes the whole video for a reason its
// probe shows (not H.264, a pixel format or profile browsers do not take, a rotation), and why:
// then RenderFastFirst makes the replay playable without waiting for that full-quality
// re-encode. (An open GOP or a variable frame rate, which only the cut's packet scan finds,
// still waits for it.)
func FastFirst(ctx context.Context, src string, mode CutMode) (bool, string, error) {
	p, err := probeStreams(ctx, src)
	if err != nil {
		return false, "", fmt.Errorf("media: %w", err)
	}
	switch {
	case !p.HasVideo:
		return false, "", nil
	case mode == CutReencode:
		return true, "the cut re-encodes", nil
	}
	b := smartBlocker(p)
	return b != "", b, nil
}

// FirstCut is the analysis of a cut that re-encodes (FastFirst): the frames it keeps, for
// RenderFastFirst to encode them before the cut does.
type FirstCut struct {
	j *cutJob
	// Actual are the cut points kept: what the re-encoding cut will report.
	Actual []Span
	trim   []Span
	total  time.Duration
}

// PlanFirstCut probes and scans src and finds the frames the re-encoding cut keeps of keep.
func PlanFirstCut(ctx context.Context, src string, keep []Span, progress func(Progress)) (*FirstCut, error) {
	j, _, err := analyseCut(ctx, src, keep, CutReencode, newTracker(progress))
	if err != nil {
		return nil, err
	}
	if !j.p.HasVideo {
		return nil, fmt.Errorf("media: render: %s has no video stream (audio-only replays are not supported)", filepath.Base(src))
	}
	frs, err := frameRanges(j.pk, j.spans)
	if err != nil {
		return nil, err
	}
	fc := &FirstCut{j: j, Actual: actualSpans(j.pk, frs)}
	// As the re-encoding cut: trim keeps frames with pts >= start and < end, so both are
	// shifted by a quarter frame for rounding to pick exactly the planned frames.
	fc.trim = make([]Span, len(fc.Actual))
	q := j.pk.frameDur() / 4
	for i, s := range fc.Actual {
		fc.trim[i] = Span{max(0, s.Start-q), s.End - q}
		fc.total += s.End - s.Start
	}
	return fc, nil
}

// RenderFastFirst writes into outDir the first playable rendition of the frames fc keeps of
// its source, without the cut: one rung of at most fallbackHeight lines (never above the
// source's) encoded with fallbackPreset straight from the source (hls/<h>p/), with
// hls/master.m3u8, hls/variants.json, poster.jpg and chapters.vtt (opt.Chapters, in replay
// time). The Playable it returns has NeedsVideo: video.mp4 comes later from the full-quality
// cut (RenderVideo), and the rest of the ladder after it.
func RenderFastFirst(ctx context.Context, fc *FirstCut, outDir string, opt RenderOptions, progress func(Progress)) (Playable, error) {
	if strings.Contains(outDir, "%") {
		return Playable{}, fmt.Errorf("media: render: output directory %q must not contain %%", outDir)
	}
	p, src, total := fc.j.p, fc.j.src, fc.total
	if len(opt.Chapters) > 0 {
		if _, err := ChaptersVTT(opt.Chapters, total); err != nil {
			return Playable{}, err
		}
	}
	w, h := p.Width, p.Height
	if p.Rotation%180 != 0 { // ffmpeg turns the picture upright when filtering
		w, h = h, w
	}
	first, rest := ladderPlan(opt.Ladder, w, h, false)
	tr := newTracker(progress)
	tr.plan(stage{"hls " + first.Name(), float64(total) * rungCost(*first)}, stage{"poster", float64(total) * 0.005})
	dir := filepath.Join(outDir, "hls", first.Name())
	if err := os.RemoveAll(dir); err != nil {
		return Playable{}, fmt.Errorf("media: render: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Playable{}, fmt.Errorf("media: render: %w", err)
	}
	tr.begin(total)
	if err := runFFmpeg(ctx, firstRungArgs(src, p.streams(), fc.trim, fc.Actual, *first, p.FrameRate, p.HasAudio, opt.Loudnorm, dir), tr.tick); err != nil {
		return Playable{}, fmt.Errorf("media: render hls %s: %w", first.Name(), err)
	}
	tr.end()
	v, err := measureVariant(dir, first.Name()+"/index.m3u8")
	if err != nil {
		return Playable{}, err
	}
	v.Width, v.Height = first.Width, first.Height
	v.FrameRate = math.Round(p.FrameRate*1000) / 1000
	v.Codecs = avc1(levelFor(first.Width, first.Height, p.FrameRate))
	if p.HasAudio {
		v.Codecs += ",mp4a.40.2"
	}
	pl := Playable{FrameRate: p.FrameRate, HasAudio: p.HasAudio, Width: w, Height: h, Rungs: rest, NeedsVideo: true,
		Fallback: cmp.Or(smartBlocker(p), "the cut re-encodes")}
	pl.Duration = total
	if pl.Keys, err = playlistKeys(filepath.Join(dir, "index.m3u8")); err != nil {
		return Playable{}, err
	}
	pl.Variants = []Variant{v}
	if err := WriteLadder(outDir, pl.Variants); err != nil {
		return Playable{}, err
	}
	ph := min(720, h) &^ 1
	at := sourceTime(fc.Actual, min(total/10, 10*time.Second))
	tr.begin(0)
	if err := runFFmpeg(ctx, posterArgs(src, at, evenWidth(w, h, ph), ph, filepath.Join(outDir, "poster.jpg")), tr.tick); err != nil {
		return Playable{}, fmt.Errorf("media: render poster: %w", err)
	}
	tr.end()
	if len(opt.Chapters) > 0 {
		ch, err := ChaptersVTT(opt.Chapters, total)
		if err != nil {
			return Playable{}, err
		}
		if err := os.WriteFile(filepath.Join(outDir, "chapters.vtt"), ch, 0o644); err != nil {
			return Playable{}, fmt.Errorf("media: render: %w", err)
		}
	}
	if pl.Files, err = listFiles(outDir); err != nil {
		return Playable{}, err
	}
	tr.finish()
	return pl, nil
}

// sourceTime maps t, a time of the replay made of the kept spans, to the source's time.
func sourceTime(spans []Span, t time.Duration) time.Duration {
	for _, s := range spans {
		if d := s.End - s.Start; t < d {
			return s.Start + t
		}
		t -= s.End - s.Start
	}
	if len(spans) > 0 {
		return spans[len(spans)-1].Start
	}
	return t
}

// RenderVideo writes video.mp4 into outDir from the cut output cutMP4, for a replay whose
// first rendition RenderFastFirst made: as RenderPlayable would have (writeVideoMP4). It
// returns its path relative to outDir.
func RenderVideo(ctx context.Context, cutMP4, outDir string, opt RenderOptions, progress func(Progress)) (string, error) {
	p, err := probeStreams(ctx, cutMP4)
	if err != nil {
		return "", fmt.Errorf("media: render: %w", err)
	}
	tr := newTracker(progress)
	tr.plan(stage{"mp4", float64(p.Duration)})
	tr.begin(p.Duration)
	if err := writeVideoMP4(ctx, cutMP4, p, opt.Loudnorm, "", filepath.Join(outDir, "video.mp4"), tr); err != nil {
		return "", err
	}
	tr.end()
	tr.finish()
	return "video.mp4", nil
}

// playlistKeys reads a rendition's media playlist and returns its segmentStarts.
func playlistKeys(path string) ([]time.Duration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("media: render: %w", err)
	}
	mp, err := ParseMediaPlaylist(data)
	if err != nil {
		return nil, err
	}
	return segmentStarts(mp), nil
}

// RenderRung encodes rung r of the replay RenderPlayable wrote into outDir (from its
// video.mp4), keyframes on pl.Keys, into hls/<r.Name()>/. It returns the rendition's variant
// and the files it wrote (relative to outDir, slash separated); add the variant with
// LadderVariants and publish it with WriteLadder. It rewrites nothing else.
func RenderRung(ctx context.Context, outDir string, pl Playable, r Rung, progress func(Progress)) (Variant, []string, error) {
	tr := newTracker(progress)
	tr.plan(stage{"hls " + r.Name(), float64(pl.Duration)})
	v, err := encodeRung(ctx, filepath.Join(outDir, "video.mp4"), outDir, r, pl.FrameRate, pl.HasAudio, pl.Keys, tr)
	if err != nil {
		return Variant{}, nil, err
	}
	files, err := listFiles(filepath.Join(outDir, "hls", r.Name()))
	if err != nil {
		return Variant{}, nil, err
	}
	for i, f := range files {
		files[i] = "hls/" + r.Name() + "/" + f
	}
	tr.finish()
	return v, files, nil
}

// encodeRung runs rungArgs into hls/<r.Name()>/ as tr's current stage and measures the result.
func encodeRung(ctx context.Context, video, outDir string, r Rung, fps float64, hasAudio bool, keys []time.Duration, tr *tracker) (Variant, error) {
	dir := filepath.Join(outDir, "hls", r.Name())
	if err := os.RemoveAll(dir); err != nil {
		return Variant{}, fmt.Errorf("media: render: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Variant{}, fmt.Errorf("media: render: %w", err)
	}
	vp, err := probeStreams(ctx, video)
	if err != nil {
		return Variant{}, fmt.Errorf("media: render: %w", err)
	}
	tr.begin(vp.Duration)
	if err := runFFmpeg(ctx, rungArgs(video, r, fps, hasAudio, keys, dir), tr.tick); err != nil {
		return Variant{}, fmt.Errorf("media: render hls %s: %w", r.Name(), err)
	}
	tr.end()
	v, err := measureVariant(dir, r.Name()+"/index.m3u8")
	if err != nil {
		return Variant{}, err
	}
	v.Width, v.Height = r.Width, r.Height
	v.FrameRate = math.Round(fps*1000) / 1000
	v.Codecs = avc1(levelFor(r.Width, r.Height, fps))
	if hasAudio {
		v.Codecs += ",mp4a.40.2"
	}
	return v, nil
}

// WriteLadder writes hls/master.m3u8 (without subtitle renditions: the subtitle step adds them
// from hls/variants.json) and hls/variants.json for variants into outDir. Each file is
// replaced whole; the renditions they list are never touched.
func WriteLadder(outDir string, variants []Variant) error {
	vj, err := json.MarshalIndent(variants, "", "  ")
	if err != nil {
		return fmt.Errorf("media: render: %w", err)
	}
	for name, data := range map[string][]byte{"master.m3u8": MasterPlaylist(variants, nil), "variants.json": append(vj, '\n')} {
		if err := os.WriteFile(filepath.Join(outDir, "hls", name), data, 0o644); err != nil {
			return fmt.Errorf("media: render: %w", err)
		}
	}
	return nil
}

// mp4Layout is what writeVideoMP4 needs to know of an MP4 without ffprobe: whether its moov box
// comes before its mdat (+faststart: a browser starts playing from the first bytes) and how
// many tracks moov holds.
type mp4Layout struct {
	faststart bool
	tracks    int
}

// readMP4Layout walks the top-level boxes of the MP4 at path up to its moov and counts the trak
// boxes in it. Only the box headers and moov are read (moov is a few hundred KiB for an hour).
func readMP4Layout(path string) (mp4Layout, error) {
	f, err := os.Open(path)
	if err != nil {
		return mp4Layout{}, err
	}
	defer f.Close()
	var lay mp4Layout
	var off int64
	for range 64 { // ftyp, free, moov, mdat...: a handful of boxes before moov
		typ, size, hdr, err := readBoxHeader(f, off)
		if err != nil {
			return lay, err
		}
		switch typ {
		case "mdat":
			return lay, nil // media before the index: not faststart
		case "moov":
			if size-hdr > 64<<20 {
				return lay, fmt.Errorf("media: %s: moov of %d bytes", filepath.Base(path), size)
			}
			var inner int64
			for inner < size-hdr {
				t, s, _, err := readBoxHeader(f, off+hdr+inner)
				if err != nil {
					return lay, err
				}
				if t == "trak" {
					lay.tracks++
				}
				inner += s
			}
			lay.faststart = true
			return lay, nil
		}
		off += size
	}
	return lay, fmt.Errorf("media: %s: no moov box at the start", filepath.Base(path))
}

// readBoxHeader reads the header of the ISO BMFF box at off: its type, its whole size and the
// header's size (8, or 16 with a 64-bit size). A size of 0 (to the end of the file) is refused.
func readBoxHeader(f *os.File, off int64) (string, int64, int64, error) {
	var b [16]byte
	if _, err := f.ReadAt(b[:8], off); err != nil {
		return "", 0, 0, fmt.Errorf("media: mp4 box at %d: %w", off, err)
	}
	size, hdr := int64(binary.BigEndian.Uint32(b[:4])), int64(8)
	if size == 1 {
		if _, err := f.ReadAt(b[8:16], off+8); err != nil {
			return "", 0, 0, fmt.Errorf("media: mp4 box at %d: %w", off, err)
		}
		size, hdr = int64(binary.BigEndian.Uint64(b[8:16])), 16
	}
	if size < hdr {
		return "", 0, 0, fmt.Errorf("media: mp4 box at %d: size %d", off, size)
	}
	return string(b[4:8]), size, hdr, nil
}
