package media

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// This file holds the pure builders of the "first playable, then the ladder" render
// (RenderPlayable, RenderRung): the source rendition by stream copy, the single fast rung of
// sources that cannot be copied, the rungs aligned on the first rendition's segments, and the
// master playlist of the renditions present so far.

// SourceRendition is the directory (under hls/) of the rendition copied from the cut output.
const SourceRendition = "source"

// hlsOutput are the muxer options every rendition shares: fMP4 segments of segmentSeconds,
// a VOD playlist, init.mp4, seg_NNNN.m4s.
func hlsOutput(kw ffmpeg.KwArgs, dir string) {
	kw["format"] = "hls"
	kw["hls_time"] = segmentSeconds
	kw["hls_playlist_type"] = "vod"
	kw["hls_segment_type"] = "fmp4"
	kw["hls_fmp4_init_filename"] = "init.mp4"
	kw["hls_flags"] = "independent_segments"
	kw["hls_segment_filename"] = fileURL(filepath.Join(dir, "seg_%04d.m4s"))
	kw["sn"] = ""
	kw["dn"] = ""
}

// copyHLSArgs writes the source rendition: in (video.mp4, H.264 + AAC) as fMP4 HLS in dir by
// stream copy. Segments start on in's keyframes, the first at or after each multiple of
// segmentSeconds: a 515 s replay takes well under a second.
func copyHLSArgs(in string, hasAudio bool, dir string) []string {
	src := ffmpeg.Input(fileURL(in), untrusted(nil))
	kw := ffmpeg.KwArgs{"c": "copy"}
	hlsOutput(kw, dir)
	streams := []*ffmpeg.Stream{src.Get("v:0")}
	if hasAudio {
		streams = append(streams, src.Get("a:0"))
	}
	return ffmpeg.Output(streams, fileURL(filepath.Join(dir, "index.m3u8")), kw).GetArgs()
}

// Rung is a rendition of the ladder encoded from video.mp4.
type Rung struct {
	Width, Height int
	// Preset is libx264's preset, "veryfast" when empty. The first playable rendition of a
	// source that cannot be copied is encoded faster.
	Preset string
}

// Name is the rung's directory under hls/, e.g. "720p".
func (r Rung) Name() string { return fmt.Sprintf("%dp", r.Height) }

// fallbackPreset encodes the first playable rendition of a source that cannot be copied: about
// twice as fast as veryfast, for somewhat larger segments.
const fallbackPreset = "superfast"

// fallbackHeight is the height of that rendition (capped at the source's).
const fallbackHeight = 720

// rungArgs encodes rung r of in (video.mp4) as fMP4 HLS into dir. With keys (the segment
// starts of the first rendition, from segmentStarts) keyframes are forced on exactly those times
// and nowhere else (no scene cuts, a GOP longer than any segment), so that the muxer, which cuts
// at the first keyframe at or after each multiple of segmentSeconds, cuts where the first
// rendition was cut and a player switches renditions on segment boundaries. Without keys a
// keyframe every segmentSeconds.
func rungArgs(in string, r Rung, fps float64, hasAudio bool, keys []time.Duration, dir string) []string {
	src := ffmpeg.Input(fileURL(in), untrusted(nil))
	v := src.Get("v:0").Filter("scale", ffmpeg.Args{fmt.Sprintf("%d:%d", r.Width, r.Height)}).Filter("format", ffmpeg.Args{"yuv420p"})
	rate := maxrateFor(r.Width, r.Height)
	lvl := levelFor(r.Width, r.Height, fps)
	preset := cmp.Or(r.Preset, "veryfast")
	kw := ffmpeg.KwArgs{
		"c:v": "libx264", "preset": preset, "crf": 21, "profile:v": "high",
		"level:v":          fmt.Sprintf("%d.%d", lvl/10, lvl%10),
		"maxrate":          fmt.Sprintf("%dk", rate),
		"bufsize":          fmt.Sprintf("%dk", 2*rate),
		"force_key_frames": fmt.Sprintf("expr:gte(t,n_forced*%d)", segmentSeconds),
		"sc_threshold":     0,
	}
	if len(keys) > 0 {
		kw["force_key_frames"] = keyList(keys)
		kw["g"] = 100000 // x264's own keyframes would cut segments the first rendition has not
	}
	hlsOutput(kw, dir)
	streams := []*ffmpeg.Stream{v}
	if hasAudio {
		streams = append(streams, src.Get("a:0"))
		aacArgs(kw)
		kw["ac"] = 2
	}
	return ffmpeg.Output(streams, fileURL(filepath.Join(dir, "index.m3u8")), kw).GetArgs()
}

// keyGuard is how much earlier than a segment's start its keyframe is asked for: EXTINF values
// are rounded to the microsecond and summed, and a time even slightly after the frame would
// force the keyframe on the next one. It stays far below a frame (16.7 ms at 60 fps).
const keyGuard = 4 * time.Millisecond

// keyList is the -force_key_frames list of times, in seconds.
func keyList(keys []time.Duration) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = secs(max(k-keyGuard, 0))
	}
	return strings.Join(parts, ",")
}

// segmentStarts are the start times of a media playlist's segments but the first (cumulative
// EXTINF): where the rungs must have their keyframes to line up with it.
func segmentStarts(pl MediaPlaylist) []time.Duration {
	var out []time.Duration
	var t time.Duration
	for i, s := range pl.Segments {
		if i > 0 {
			out = append(out, t)
		}
		t += s.Duration
	}
	return out
}

// avc1Of is the RFC 6381 codec string of a copied H.264 stream from ffprobe's profile name and
// level (x10), "" when the profile is not one browsers are known to play.
func avc1Of(profile string, level int) string {
	var pc string
	switch strings.ToLower(profile) {
	case "high":
		pc = "6400"
	case "main":
		pc = "4d40"
	case "constrained baseline":
		pc = "42e0"
	case "baseline":
		pc = "4200"
	default:
		return ""
	}
	return fmt.Sprintf("avc1.%s%02x", pc, min(max(level, 0), 255))
}

// LadderVariants returns vs with v added (replacing a variant of the same URI), in the order
// the master lists them: the tallest first, then by bandwidth. Players that start on the first
// listed variant (Safari) start on the best one, as with the full ladder; hls.js measures and
// picks. vs is not modified.
func LadderVariants(vs []Variant, v Variant) []Variant {
	out := slices.DeleteFunc(slices.Clone(vs), func(o Variant) bool { return o.URI == v.URI })
	out = append(out, v)
	slices.SortStableFunc(out, func(a, b Variant) int {
		return cmp.Or(cmp.Compare(b.Height, a.Height), cmp.Compare(b.Bandwidth, a.Bandwidth))
	})
	return out
}

// ladderPlan picks the rungs of a replay of srcW×srcH. copied: the first rendition is the
// source's own stream, so the rungs are the ladder's heights below the source's (the source
// is the top one). Otherwise the first rendition is first (the fallback rung, at most
// fallbackHeight, encoded with fallbackPreset) and the rest of the ladder follows.
func ladderPlan(want []int, srcW, srcH int, copied bool) (first *Rung, rest []Rung) {
	hs := ladder(want, srcH)
	if !copied {
		h := min(fallbackHeight, srcH) &^ 1
		first = &Rung{Width: evenWidth(srcW, srcH, h), Height: h, Preset: fallbackPreset}
	}
	for _, h := range hs {
		if (copied && h >= srcH) || (first != nil && h == first.Height) {
			continue
		}
		rest = append(rest, Rung{Width: evenWidth(srcW, srcH, h), Height: h})
	}
	return first, rest
}

// rungCost is the relative encode cost of a rung, per second of video: pixels plus a fixed
// part (decoding the 1080p input, audio, muxing), fitted to renderPlan's weights.
func rungCost(r Rung) float64 {
	c := 0.2 + float64(r.Width*r.Height)/(1280*720)
	if r.Preset == fallbackPreset {
		c *= 0.6
	}
	return c
}

// LadderETA is the time left to encode the ladder: the current rung cur has encoded done of
// dur at speed (ffmpeg's speed factor, measured), the rungs of rest are not begun. The later
// rungs' speed is the measured one scaled by their cost against cur's (rungCost); without a
// measure yet (speed 0) there is no estimate.
func LadderETA(dur, done time.Duration, speed float64, cur Rung, rest []Rung) (time.Duration, bool) {
	if speed <= 0 {
		return 0, false
	}
	left := float64(max(dur-done, 0)) / speed
	for _, r := range rest {
		left += float64(dur) / (speed * rungCost(cur) / rungCost(r))
	}
	return time.Duration(left).Round(time.Second), true
}

// firstRungArgs encodes the first playable rendition of a source the cut must re-encode
// straight from the source src (streams st): the kept frames (vspans, as the re-encoding cut
// trims them; aspans for the audio) joined, scaled to rung r (fallbackPreset), as fMP4 HLS into
// dir with a keyframe every segmentSeconds — the same frames as the full-quality cut made
// afterwards, without waiting for it. loudnorm normalises the audio as video.mp4's will be.
func firstRungArgs(src string, st streams, vspans, aspans []Span, r Rung, fps float64, hasAudio, loudnorm bool, dir string) []string {
	in := ffmpeg.Input(fileURL(src), untrusted(nil))
	v := videoGraph(in, st.V, vspans)
	v = v.Filter("scale", ffmpeg.Args{fmt.Sprintf("%d:%d", r.Width, r.Height)}).Filter("format", ffmpeg.Args{"yuv420p"})
	rate := maxrateFor(r.Width, r.Height)
	lvl := levelFor(r.Width, r.Height, fps)
	kw := ffmpeg.KwArgs{
		"c:v": "libx264", "preset": cmp.Or(r.Preset, fallbackPreset), "crf": 21, "profile:v": "high",
		"level:v":          fmt.Sprintf("%d.%d", lvl/10, lvl%10),
		"maxrate":          fmt.Sprintf("%dk", rate),
		"bufsize":          fmt.Sprintf("%dk", 2*rate),
		"force_key_frames": fmt.Sprintf("expr:gte(t,n_forced*%d)", segmentSeconds),
		"sc_threshold":     0,
	}
	hlsOutput(kw, dir)
	streams := []*ffmpeg.Stream{v}
	if hasAudio {
		a := audioGraph(in, st.A, aspans)
		if loudnorm {
			a = a.Filter("loudnorm", nil, ffmpeg.KwArgs{"I": "-16", "TP": "-1.5", "LRA": "11"}).
				Filter("aresample", ffmpeg.Args{"48000"})
		}
		streams = append(streams, a)
		aacArgs(kw)
		kw["ac"] = 2
	}
	return ffmpeg.Output(streams, fileURL(filepath.Join(dir, "index.m3u8")), kw).GetArgs()
}
