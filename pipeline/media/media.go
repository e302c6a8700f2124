// Package media drives ffmpeg for the recording pipeline: it probes uploads,
// cuts them (fast, accurate smart cut, or full re-encode) and renders the
// streamable outputs (MP4, HLS ladder, poster, storyboard, chapters).
//
// Every ffmpeg command is built as a []string by a pure function (golden
// tested in testdata/) and executed by one runner (run.go): no shell, progress
// read from -progress pipe:1, the tail of stderr kept for the error, SIGINT on
// cancellation. Inputs are always "file:" + absolute path with
// -protocol_whitelist file,pipe and a whitelist of demuxers, so an uploaded
// playlist (HLS, ffconcat) can make ffmpeg open neither a URL nor another
// local file.
//
// Cut modes (see Cut): fast copies whole GOPs (cuts snap outwards to
// keyframes) and the audio with them, in two ffmpeg runs: one copies the
// AAC frames of every kept range to ADTS pieces, the other reads the
// source's video through a concat script (inpoint on each range's first
// keyframe, outpoint on the decode time of the keyframe that ends it) and
// muxes it with the audio pieces, laid out as long as their video. The
// copied audio cannot be cut between AAC frames: each range's audio starts
// on the first frame at or after its keyframe, so at every join it is off
// by less than one frame (1024 samples, 21.3 ms at 48 kHz), and the error
// does not add up from one range to the next; the output's duration is
// known from the keyframes, so it is not probed again. Sources whose audio
// is not AAC keep the pieces-and-join path below with the audio encoded.
//
// Accurate is the smart cut of shared/notes/smart-cut.md — per kept range the frames before the
// first keyframe and after the last are re-encoded (x264 ultrafast with the source's profile,
// pixel format and B-frame reorder depth, parameter sets in-band, one ffmpeg run per piece,
// two at a time), the GOPs between are read in place from the source by the join's concat
// script, every piece laid out as long as its source frames last. AAC audio is copied in
// whole frames as in fast mode (within one AAC frame of the video at each join, never adding
// up), other audio encoded once, sample-exact, with atrim/asetpts/concat; the join only copies.
// Re-encoded frames keep their source timestamps (passthrough) and decode times shifted to
// the copied GOPs' delay, so variable frame rate sources (screen recorders) are smart-cut
// too, each kept frame shown at its source time. Sources that would not join cleanly (not
// 8-bit 4:2:0 H.264, open GOPs, rotation, a reorder depth over 2) fall back to reencode and
// the result says why.
//
// Measured (60 s 1280x720 30 fps source, 43.3 s kept in two ranges, 2 shared
// cores under load): fast 0.33 s (0.99 s when it encoded the audio and
// scanned every packet), accurate 2.3-2.9 s, reencode 16.6 s or more
// (BenchmarkCut). On the bench's 10-min 1080p source with 3 ranges, fast
// is within 1.10x of the bare `ffmpeg -ss -to -c copy` + concat commands.
package media

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotMedia is wrapped by errors about inputs that are not an audio or
// video file ffmpeg accepts (random bytes, truncated files, playlists).
var ErrNotMedia = errors.New("media: not an audio or video file")

// ErrOutOfRange is wrapped when a kept span lies (partly) outside the source.
var ErrOutOfRange = errors.New("media: cut outside the source")

// Span is a range of source time, [Start, End). It is the one span type of the pipeline: the
// upload's plan, the cut, the subtitle re-timing and the audio extraction all use it as is.
type Span struct {
	Start time.Duration `json:"start_ns"`
	End   time.Duration `json:"end_ns"`
}

// Len is the length of the span.
func (s Span) Len() time.Duration { return s.End - s.Start }

func (s Span) String() string { return fmt.Sprintf("[%s, %s)", fmtDur(s.Start), fmtDur(s.End)) }

// Progress is reported by long calls. Fraction runs from 0 to 1 over the
// whole call (its stages are weighted), Speed is ffmpeg's speed factor of the
// current stage (1 = real time), ETA the estimated time left for the call.
type Progress struct {
	Stage    string
	Fraction float64
	Speed    float64
	ETA      time.Duration
}

// CutMode selects how Cut works.
type CutMode string

const (
	// CutFast copies the streams; cuts snap outwards to keyframes and the
	// result reports the actual points.
	CutFast CutMode = "fast"
	// CutAccurate is a smart cut: frame-exact, only the GOPs straddling a
	// cut are re-encoded. It falls back to CutReencode for sources it cannot
	// smart-cut safely (not H.264, open GOP, variable frame rate).
	CutAccurate CutMode = "accurate"
	// CutReencode transcodes everything (libx264 + AAC).
	CutReencode CutMode = "reencode"
)

// Valid reports whether m is one of the known modes.
func (m CutMode) Valid() bool {
	return m == CutFast || m == CutAccurate || m == CutReencode
}

// CutResult describes what Cut produced.
type CutResult struct {
	// Actual are the source ranges really kept: frame boundaries in
	// accurate/reencode mode, keyframes in fast mode.
	Actual []Span
	// Duration of the output.
	Duration time.Duration
	// Mode is the mode really used (accurate may fall back to reencode).
	Mode CutMode
	// Fallback says why accurate fell back to reencode ("" otherwise).
	Fallback string
}

// Chapter is a titled point in time: in replay (output) time when given to Render. The pipeline's
// plan keeps its chapters in source time with this same type.
type Chapter struct {
	Start time.Duration `json:"start_ns"`
	Title string        `json:"title"`
}

// RenderOptions tune Render; the zero value means defaults.
type RenderOptions struct {
	// Ladder lists rendition heights; default 1080, 720, 360. Heights above
	// the source are capped at the source height (duplicates dropped).
	Ladder []int
	// Loudnorm normalises loudness (EBU R128, single pass, I=-16 LUFS).
	Loudnorm bool
	// Chapters in replay time, written to chapters.vtt.
	Chapters []Chapter
	// BurnIn is an optional subtitle file (srt, vtt, ass) burnt into the picture.
	BurnIn string
}

// Outputs lists what Render wrote.
type Outputs struct {
	// Files are paths relative to outDir (slash separated).
	Files []string
	// Duration of video.mp4.
	Duration time.Duration
	// Variants are the HLS renditions (also written to hls/variants.json).
	Variants []Variant
}

func fmtDur(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	ms := d.Milliseconds()
	s := fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
	if neg {
		return "-" + s
	}
	return s
}

// secs formats d as seconds for ffmpeg options, with microsecond precision.
func secs(d time.Duration) string {
	us := d.Microseconds()
	neg := us < 0
	if neg {
		us = -us
	}
	s := fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
	if neg {
		s = "-" + s
	}
	return s
}
