package media

import (
	"context"
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
}

// RenderPlayable writes into outDir what makes a replay playable, as fast as the source
// allows: video.mp4 (+faststart), audio.m4a, one HLS rendition with hls/master.m3u8 and
// hls/variants.json, poster.jpg, storyboard.jpg + storyboard.vtt, chapters.vtt. The HLS
// rendition is the cut output itself by stream copy (hls/source/) when it is browser-friendly
// H.264/AAC with keyframes at most maxCopyGap apart (a fraction of a second for a long
// replay), else a single 720p rung encoded fast (copyBlocker says why, in Playable.Fallback).
// The rest of the ladder (Playable.Rungs) is left to RenderRung.
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
	tr.plan(stage{"mp4", dur * mp4W}, stage{"audio", dur * 0.005}, stage{"scan", dur * 0.003},
		stage{"hls source", dur * 0.01}, stage{"poster", dur * 0.005}, stage{"storyboard", dur * 0.05})

	video := filepath.Join(outDir, "video.mp4")
	tr.begin(p.Duration)
	if err := runFFmpeg(ctx, mp4Args(cutMP4, opt.Loudnorm, burn, p.HasAudio, video), tr.tick); err != nil {
		return Playable{}, fmt.Errorf("media: render mp4: %w", err)
	}
	tr.end()
	vp, err := probeStreams(ctx, video)
	if err != nil {
		return Playable{}, fmt.Errorf("media: render: check video.mp4: %w", err)
	}
	if p.HasAudio {
		if err := renderAudio(ctx, video, outDir, vp.Duration, tr); err != nil {
			return Playable{}, err
		}
	} else {
		tr.end()
	}
	tr.begin(0)
	pk, err := scanPackets(ctx, video, vp, 0)
	if err != nil {
		return Playable{}, fmt.Errorf("media: render: %w", err)
	}
	tr.end()

	pl := Playable{FrameRate: vp.FrameRate, HasAudio: vp.HasAudio}
	pl.Duration = vp.Duration
	pl.Fallback = copyBlocker(vp, pk.maxKeyGap())
	pl.Copied = pl.Fallback == ""
	w, h := vp.Width, vp.Height
	if vp.Rotation%180 != 0 { // ffmpeg turns the picture upright when encoding
		w, h = h, w
	}
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
	if err := renderPreviews(ctx, video, outDir, Probe{Width: w, Height: h, Duration: p.Duration}, vp, tr); err != nil {
		return Playable{}, err
	}
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
