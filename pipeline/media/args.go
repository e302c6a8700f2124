package media

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// This file holds the pure functions that build ffmpeg arguments. They are
// golden-tested (testdata/*.golden); the runner adds the global options
// (-nostdin -y -nostats -progress pipe:1).

// untrusted are the input options of an uploaded file (see inputArgs).
func untrusted(extra ffmpeg.KwArgs) ffmpeg.KwArgs {
	kw := ffmpeg.KwArgs{"protocol_whitelist": "file,pipe", "format_whitelist": demuxerWhitelist()}
	for k, v := range extra {
		kw[k] = v
	}
	return kw
}

// ourList are the input options of a concat list we wrote ourselves: only
// then -safe 0. The nested files inherit the whitelists.
func ourList() ffmpeg.KwArgs {
	return ffmpeg.KwArgs{
		"format": "concat", "safe": "0",
		"protocol_whitelist": "file,pipe", "format_whitelist": "concat," + demuxerWhitelist(),
	}
}

// encParams are the H.264 settings of re-encoded pieces, matched to the source.
type encParams struct {
	Profile string // x264 profile: baseline, main, high
	PixFmt  string
	CRF     int
	// Reorder is the source's reorder depth (0, 1 or 2), given to the pieces' B-frames: the
	// output's stream parameters are the first piece's, and a decoder that starts with a
	// smaller depth than the copied GOPs need shows their frames out of order.
	Reorder int
	// TrackID > 0 gives the pieces' MP4 track the id of the source's video stream, so that
	// the concat demuxer (exact_stream_id) takes the same stream from a piece and from the
	// source. Timescale is the pieces' time base (1/Timescale): the source's when the copied
	// GOPs are read in place, since the concat demuxer takes every file's timestamps in the
	// first file's time base; 90000, MPEG-TS's, when they are copied to MPEG-TS files.
	TrackID, Timescale int64
}

// x264Params are the pieces' libx264 settings over the ultrafast preset: parameter sets in
// every keyframe; the 8x8 transform that makes the stream High profile as the source is; as
// many B-frames as the source reorders (CAVLC, cheaper than CABAC, stays). Measured on a
// 1080p piece of 53 frames (user+sys, with decoding): superfast 2.4-2.6 s, ultrafast 1.4-1.7 s
// but Constrained Baseline without B-frames, these 1.6 s, with CABAC 2.0-2.1 s.
func (e encParams) x264Params() string {
	s := "repeat-headers=1"
	if e.Profile == "high" {
		s += ":8x8dct=1"
	}
	switch e.Reorder {
	case 0:
		return s + ":bframes=0"
	case 1:
		return s + ":bframes=1:b-pyramid=none"
	}
	return s + ":bframes=3:b-pyramid=normal:b-adapt=0"
}

// x264Profile maps ffprobe's profile name to libx264's, "" when unsupported.
func x264Profile(p string) string {
	switch strings.ToLower(p) {
	case "high":
		return "high"
	case "main":
		return "main"
	case "baseline", "constrained baseline":
		return "baseline"
	}
	return ""
}

// piece is a run of consecutive source frames, re-encoded or copied.
type piece struct {
	Start  time.Duration // pts of the first frame
	Frames int
	Copy   bool
	// Key: the first frame is a keyframe (a re-encoded tail, a copied run), so decoding can
	// start on it rather than on the keyframe before (see seekTo).
	Key bool
	// Dur is how long the piece lasts in the output: from its first frame to the source frame
	// after its last (frame durations vary in VFR sources, so it is not Frames times one).
	Dur time.Duration
	// Out ends a copied piece read in place from the source: the decode time of the keyframe
	// after it (0 at the end of the file), as fastList's outpoint.
	Out time.Duration
	// Delay of a re-encoded piece: its frames are decoded this long before they are shown, as
	// the source's copied GOPs next to it are (their keyframe's pts - dts). Re-encoded pieces
	// have no B-frames, so without it the decode times at a join into a copied GOP would go back.
	Delay time.Duration
}

// seekTo is the -ss for a piece starting on the frame at t. Decoding
// (re-encoded pieces) starts at the keyframe at or before -ss (by pts) and drops frames
// before -ss: seek a quarter frame early so rounding never loses the frame at t. A
// re-encoded piece that starts on a keyframe (key) seeks to t itself, truncated to the
// microsecond: -ss is then never past the frame, and is within a tick of it, so the seek
// lands on that keyframe; a quarter frame early landed on the keyframe before and decoded a
// whole GOP for nothing (60 frames of 1080p, about 0.35 s of CPU for each tail of the bench's
// cut). Stream copy starts at the keyframe at or before -ss and keeps it whatever -ss says:
// seek a quarter frame late so that keyframe is the one at t, not the previous one.
func seekTo(t, frame time.Duration, copy, key bool) string {
	switch {
	case copy:
		t += frame / 4
	case !key:
		t -= frame / 4
	}
	return secs(max(t, 0))
}

// pieceArgs writes one video piece of src to out. A copied piece (read from the source
// only when it cannot be read in place, see accurateList) goes to MPEG-TS, Annex B. A
// re-encoded piece goes to MP4 with its parameter sets in-band (repeat-headers), so it joins
// the source's GOPs, which carry other ones; x264 ultrafast with a few tools back (x264Params),
// at CRF 16 to make up for those it leaves out. Its frames
// keep the source's timestamps (passthrough), so VFR sources keep their timing, in the time
// base enc.Timescale names (the MP4 track keeps it: ffmpeg 5.1 gives setts the encoder's time
// base as TB, and the packets it filters are in the muxer's), and its decode times are
// shifted by pc.Delay (setts).
//
// One piece per run: ffmpeg 5.1 given several seeked inputs and encoded outputs in one run
// decoded on to the end of the file (two pieces of the 10-minute bench media ran for more than
// a minute, dropping frames; each alone takes a second).
func pieceArgs(src string, st streams, pc piece, frame time.Duration, enc encParams, out string) []string {
	ikw := ffmpeg.KwArgs{"ss": seekTo(pc.Start, frame, pc.Copy, pc.Key)}
	kw := ffmpeg.KwArgs{"an": "", "sn": "", "dn": "", "frames:v": pc.Frames}
	if !pc.Copy {
		// Two pieces run at a time on two cores: one decoder thread and two x264 threads
		// each spend less CPU than the default frame threads (a 1080p piece of 53 frames:
		// 1.0-1.05 s user+sys against 1.15-1.5 s).
		ikw["threads"], kw["threads"] = "1", "2"
	}
	in := ffmpeg.Input(fileURL(src), untrusted(ikw))
	if pc.Copy {
		kw["c:v"] = "copy"
		kw["bsf:v"] = "h264_mp4toannexb"
		kw["format"] = "mpegts"
	} else {
		kw["format"] = "mp4"
		kw["c:v"] = "libx264"
		kw["preset"] = "ultrafast"
		kw["crf"] = enc.CRF
		kw["profile:v"] = enc.Profile
		kw["pix_fmt"] = enc.PixFmt
		kw["x264-params"] = enc.x264Params()
		kw["fps_mode"] = "passthrough"
		kw["enc_time_base"] = "1/" + strconv.FormatInt(enc.Timescale, 10)
		kw["video_track_timescale"] = enc.Timescale
		// Decode times moved earlier (never later: B-frames may be decoded when shown) by
		// what the source's delay exceeds x264's (first packet's pts - dts); pts=PTS is
		// needed, ffmpeg 5.1's setts rewrote the pts from the dts without it.
		x := "(" + secs(pc.Delay) + "/TB-(STARTPTS-STARTDTS))"
		kw["bsf:v"] = "setts=pts=PTS:dts=DTS-(" + x + "+abs(" + x + "))/2"
		if enc.TrackID > 0 {
			kw["streamid"] = "0:" + strconv.FormatInt(enc.TrackID, 10)
			kw["use_stream_ids_as_track_ids"] = "1"
		}
	}
	return in.Get(st.V).Output(fileURL(out), kw).GetArgs()
}

// accurateList is the concat script of a smart cut's video: every piece laid out as long as
// its source frames last (duration), so VFR pieces and estimated file lengths cannot make the
// joins drift. Pieces with a file are read from it; the others (copied GOPs, when files[i] is
// "") from the source itself, in place, as fastList does: from the keyframe at Start to the
// packet decoded at Out (times relative to the file's start; the script's are the file's own,
// start later). vID > 0 (the source's video stream id, which the re-encoded pieces'
// tracks carry too) keeps only the video of every file.
func accurateList(src string, start time.Duration, vID int64, pcs []piece, files []string) []byte {
	var b strings.Builder
	b.WriteString("ffconcat version 1.0\n")
	if vID > 0 {
		fmt.Fprintf(&b, "stream\nexact_stream_id %d\n", vID)
	}
	for i, pc := range pcs {
		if files[i] != "" {
			fmt.Fprintf(&b, "file %s\nduration %s\n", concatQuote(fileURL(files[i])), secs(pc.Dur))
			continue
		}
		fmt.Fprintf(&b, "file %s\n", concatQuote(fileURL(src)))
		fmt.Fprintf(&b, "option format_whitelist %s\n", demuxerWhitelist())
		// Rounded up, as in fastList: the demuxer seeks to the keyframe at or before it.
		fmt.Fprintf(&b, "inpoint %s\n", secs(start+pc.Start+time.Microsecond-1))
		if pc.Out > 0 {
			fmt.Fprintf(&b, "outpoint %s\n", secs(start+pc.Out))
		}
		fmt.Fprintf(&b, "duration %s\n", secs(pc.Dur))
	}
	return []byte(b.String())
}

// concatQuote quotes s for a concat script: '...' with ' written as '\”.
func concatQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// audioGraph cuts spans of src's audio stream a sample-exactly and joins them.
func audioGraph(src *ffmpeg.Stream, a string, spans []Span) *ffmpeg.Stream {
	var parts []*ffmpeg.Stream
	for _, s := range spans {
		parts = append(parts, src.Get(a).
			Filter("atrim", nil, ffmpeg.KwArgs{"start": secs(s.Start), "end": secs(s.End)}).
			Filter("asetpts", ffmpeg.Args{"PTS-STARTPTS"}))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return ffmpeg.Concat(parts, ffmpeg.KwArgs{"v": 0, "a": 1})
}

func aacArgs(kw ffmpeg.KwArgs) {
	kw["c:a"] = "aac"
	kw["b:a"] = "128k"
	kw["ar"] = 48000
}

// audioEncodeArgs cuts the spans of src's audio sample-exactly and joins them into an
// M4A (AAC), the audio of a cut made of pieces. M4A rather than raw ADTS so that the encoder's
// priming samples stay described (edit list) through the copy into the joined MP4.
func audioEncodeArgs(src string, st streams, spans []Span, out string) []string {
	a := audioGraph(ffmpeg.Input(fileURL(src), untrusted(nil)), st.A, spans)
	kw := ffmpeg.KwArgs{"format": "ipod"}
	aacArgs(kw)
	return a.Output(fileURL(out), kw).GetArgs()
}

// joinArgs joins the video pieces listed in list and the audio encoded by audioEncodeArgs
// (audio, "" when none), both by copy, into an MP4 ready for progressive download.
func joinArgs(list, audio string, out string) []string {
	streams := []*ffmpeg.Stream{ffmpeg.Input(fileURL(list), ourList()).Get("v:0")}
	if audio != "" {
		streams = append(streams, ffmpeg.Input(fileURL(audio), ffmpeg.KwArgs{"protocol_whitelist": "file,pipe", "format": "mov"}).Get("a:0"))
	}
	return ffmpeg.Output(streams, fileURL(out), ffmpeg.KwArgs{"c": "copy", "movflags": "+faststart", "format": "mp4"}).GetArgs()
}

// reencodeArgs transcodes vspans of src's video and aspans of its audio
// into out (libx264 + AAC).
func reencodeArgs(src string, st streams, vspans, aspans []Span, hasVideo, hasAudio bool, out string) []string {
	in := ffmpeg.Input(fileURL(src), untrusted(nil))
	var streams []*ffmpeg.Stream
	kw := ffmpeg.KwArgs{"movflags": "+faststart", "format": "mp4"}
	if hasVideo {
		v := videoGraph(in, st.V, vspans).Filter("format", ffmpeg.Args{"yuv420p"})
		streams = append(streams, v)
		kw["c:v"] = "libx264"
		kw["preset"] = "veryfast"
		kw["crf"] = 20
		kw["profile:v"] = "high"
	}
	if hasAudio {
		streams = append(streams, audioGraph(in, st.A, aspans))
		aacArgs(kw)
	}
	return ffmpeg.Output(streams, fileURL(out), kw).GetArgs()
}

// videoGraph is the video stream v of in trimmed to spans (source time, frame-exact) and joined,
// timestamps from 0: what the re-encoding cut and the fast first rung both encode.
func videoGraph(in *ffmpeg.Stream, v string, spans []Span) *ffmpeg.Stream {
	var parts []*ffmpeg.Stream
	for _, s := range spans {
		parts = append(parts, in.Get(v).
			Filter("trim", nil, ffmpeg.KwArgs{"start": secs(s.Start), "end": secs(s.End)}).
			Filter("setpts", ffmpeg.Args{"PTS-STARTPTS"}))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return ffmpeg.Concat(parts, ffmpeg.KwArgs{"v": 1, "a": 0})
}

// itoa is strconv.Itoa, short.
func itoa(i int) string { return strconv.Itoa(i) }

// copySeg is a run of whole GOPs of the source kept by a fast cut, in the
// source's own timestamps: from the keyframe shown at In, until the packet
// decoded at Out (the next keyframe's decode time; 0 at the end of the
// file), laid out Dur long in the output.
type copySeg struct {
	In, Out, Dur time.Duration
}

// fastList is the concat script of a fast cut's video: the source itself,
// once per kept run, with inpoint/outpoint/duration. The demuxer ends a run
// at the first packet decoded at or after outpoint, so with outpoint on the
// next keyframe's decode time the run holds exactly its frames (with
// B-frames an end in presentation time would let the next GOP's first
// packets through); duration lays the runs out back to back. vID (the
// container's id of the video stream, -1 if none) keeps only the video in
// the virtual file, so the audio's earlier start does not shift it. The
// nested source is opened with the upload's demuxer whitelist, without
// concat.
func fastList(src string, vID int64, segs []copySeg) []byte {
	var b strings.Builder
	b.WriteString("ffconcat version 1.0\n")
	if vID >= 0 {
		fmt.Fprintf(&b, "stream\nexact_stream_id %d\n", vID)
	}
	for _, s := range segs {
		fmt.Fprintf(&b, "file %s\n", concatQuote(fileURL(src)))
		fmt.Fprintf(&b, "option format_whitelist %s\n", demuxerWhitelist())
		// Round the inpoint up: the demuxer seeks to the keyframe at or
		// before it, and must not land on the previous one.
		fmt.Fprintf(&b, "inpoint %s\n", secs(s.In+time.Microsecond-1))
		if s.Out > 0 {
			fmt.Fprintf(&b, "outpoint %s\n", secs(s.Out))
		}
		fmt.Fprintf(&b, "duration %s\n", secs(s.Dur))
	}
	return []byte(b.String())
}

// audioCopyArgs copies the audio of src over each span (from the file's
// start, as -ss counts) to files[i], raw ADTS: one ffmpeg run for all spans. Stream
// copy keeps whole AAC frames: the output -ss 0 drops the frames the seek
// lands on before the span, so each piece starts on the first frame at or
// after its span's start (up to one frame, 1024 samples, late) and ends
// with the last frame starting before its end.
func audioCopyArgs(src string, st streams, spans []Span, files []string) []string {
	var outs []*ffmpeg.Stream
	for i, s := range spans {
		in := ffmpeg.Input(fileURL(src), untrusted(ffmpeg.KwArgs{"ss": secs(s.Start), "to": secs(s.End)}))
		outs = append(outs, in.Get(st.A).Output(fileURL(files[i]), ffmpeg.KwArgs{"c:a": "copy", "ss": "0", "format": "adts"}))
	}
	return ffmpeg.MergeOutputs(outs...).GetArgs()
}

// audioList is the concat script of a fast cut's audio pieces, each laid
// out as long as its video run, so no error carries over from one run to
// the next.
func audioList(files []string, segs []copySeg) []byte {
	var b strings.Builder
	b.WriteString("ffconcat version 1.0\n")
	for i, f := range files {
		fmt.Fprintf(&b, "file %s\nduration %s\n", concatQuote(fileURL(f)), secs(segs[i].Dur))
	}
	return []byte(b.String())
}

// fastJoinArgs copies the video of a fastList script, and the audio of an
// audioList script (alist, "" without audio), into an MP4 ready for
// progressive download. v is the video's stream index in the script's
// virtual file: "0" when fastList kept it alone, the source's index if not.
func fastJoinArgs(list, alist, v, out string) []string {
	streams := []*ffmpeg.Stream{ffmpeg.Input(fileURL(list), ourList()).Get(v)}
	if alist != "" {
		streams = append(streams, ffmpeg.Input(fileURL(alist), ourList()).Get("a:0"))
	}
	return ffmpeg.Output(streams, fileURL(out), ffmpeg.KwArgs{"c": "copy", "movflags": "+faststart", "format": "mp4"}).GetArgs()
}
