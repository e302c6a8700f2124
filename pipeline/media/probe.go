package media

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Probe describes a media file.
type Probe struct {
	Duration   time.Duration
	HasVideo   bool
	HasAudio   bool
	Format     string // demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
	VideoCodec string // e.g. "h264"
	AudioCodec string // e.g. "aac"
	PixFmt     string // e.g. "yuv420p"
	Profile    string // e.g. "High"
	Level      int    // e.g. 30 for 3.0
	Width      int
	Height     int
	FrameRate  float64 // average frames per second
	// VFR is set when frame durations vary (screen recorders, phones).
	VFR bool
	// OpenGOP is set when frames after a keyframe (in decode order) are
	// shown before it: their GOP cannot be copied from its keyframe alone.
	OpenGOP bool
	// Reorder is how many frames the decoder holds back to show them in order (ffprobe's
	// has_b_frames: 0 without B-frames, 2 for x264's B-pyramid).
	Reorder int
	// Rotation is the display rotation in degrees (phones), 0 when none.
	Rotation   int
	SampleRate int // audio
	Channels   int // audio

	// StartTime is the file's start time; source times are relative to it.
	StartTime time.Duration
	// timeBase of the video stream, num/den.
	tbNum, tbDen int64
	// vIdx, aIdx are the indexes of the streams described (cover art and
	// extra tracks are not, whatever their order).
	vIdx, aIdx int
	// vID is the container's id of the video stream (MP4 track id), -1
	// when it has none.
	vID int64
}

// streams names the video and audio streams described by p for -map and
// filter graphs ("0:3" is input 0's stream 3).
type streams struct{ V, A string }

func (p Probe) streams() streams {
	return streams{V: strconv.Itoa(p.vIdx), A: strconv.Itoa(p.aIdx)}
}

// demuxers are the input formats accepted for uploads: containers of audio
// and video, never playlists (hls, concat) or image sequences that open
// other files.
var demuxers = []string{
	"mov", "mp4", "m4a", "3gp", "matroska", "webm", "avi", "mpegts", "mpeg", "flv", "asf",
	"wav", "w64", "mp3", "aac", "flac", "ogg", "caf", "aiff",
}

func demuxerWhitelist() string { return strings.Join(demuxers, ",") }

// inputArgs are the options before every -i of an uploaded (untrusted) file.
func inputArgs() []string {
	return []string{"-protocol_whitelist", "file,pipe", "-format_whitelist", demuxerWhitelist()}
}

// fileURL turns a path into ffmpeg's "file:" URL, absolute.
func fileURL(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return "file:" + path
}

// probeArgs are ffprobe's arguments to describe path.
func probeArgs(path string) []string {
	args := []string{"-v", "error"}
	args = append(args, inputArgs()...)
	return append(args,
		"-of", "json", "-show_format", "-show_streams", fileURL(path))
}

// packetArgs lists the packets (pts, dts, flags) of stream (an index) in
// decode order; limit (>0) stops after that much source time.
func packetArgs(path string, stream int, limit time.Duration) []string {
	args := []string{"-v", "error"}
	args = append(args, inputArgs()...)
	args = append(args, "-select_streams", strconv.Itoa(stream), "-show_entries", "packet=pts,dts,flags", "-of", "csv=p=0")
	if limit > 0 {
		args = append(args, "-read_intervals", "%+"+secs(limit))
	}
	return append(args, fileURL(path))
}

// sniff refuses files that are obviously text playlists before ffprobe sees them.
func sniff(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("media: probe: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("media: probe: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrNotMedia, filepath.Base(path))
	}
	if st.Size() == 0 {
		return fmt.Errorf("%w: the file is empty", ErrNotMedia)
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	head = bytes.TrimLeft(head[:n], "\xef\xbb\xbf \t\r\n")
	for _, p := range []string{"#EXTM3U", "ffconcat", "#EXT", "file ", "<?xml", "<MPD", "[playlist]"} {
		if bytes.HasPrefix(bytes.ToLower(head), bytes.ToLower([]byte(p))) {
			return fmt.Errorf("%w: the file is a playlist, not media; upload the recording itself", ErrNotMedia)
		}
	}
	return nil
}

type ffprobeOut struct {
	// Packets are listed by probeWindowArgs only.
	Packets []struct {
		StreamIndex int             `json:"stream_index"`
		PTS         json.RawMessage `json:"pts"`
		DTS         json.RawMessage `json:"dts"`
		Flags       string          `json:"flags"`
	} `json:"packets"`
	Streams []struct {
		Index        int    `json:"index"`
		ID           string `json:"id"`
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Profile      string `json:"profile"`
		Level        int    `json:"level"`
		HasBFrames   int    `json:"has_b_frames"`
		PixFmt       string `json:"pix_fmt"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		RFrameRate   string `json:"r_frame_rate"`
		AvgFrameRate string `json:"avg_frame_rate"`
		TimeBase     string `json:"time_base"`
		Duration     string `json:"duration"`
		SampleRate   string `json:"sample_rate"`
		Channels     int    `json:"channels"`
		Disposition  struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
		SideData []struct {
			Rotation int `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		StartTime  string `json:"start_time"`
	} `json:"format"`
}

// ProbeFile describes the media file at path. A file that is not audio or
// video (random bytes, truncated, a playlist) gives an error wrapping
// ErrNotMedia.
func ProbeFile(ctx context.Context, path string) (Probe, error) {
	p, err := probeStreams(ctx, path)
	if err != nil {
		return Probe{}, err
	}
	if p.HasVideo {
		// The first minute tells VFR and open GOPs apart cheaply; Cut scans
		// the whole file again when it needs keyframes.
		pk, err := scanPackets(ctx, path, p, time.Minute)
		if err != nil {
			return Probe{}, err
		}
		p.OpenGOP = pk.openGOP
		p.VFR = p.VFR || pk.vfr()
	}
	return p, nil
}

func probeStreams(ctx context.Context, path string) (Probe, error) {
	p, _, err := probeWith(ctx, path, probeArgs(path))
	return p, err
}

// probeWith runs ffprobe with args, which describe path's streams and
// format in JSON (and maybe more), and decodes them.
func probeWith(ctx context.Context, path string, args []string) (Probe, ffprobeOut, error) {
	if err := sniff(path); err != nil {
		return Probe{}, ffprobeOut{}, err
	}
	out, err := runFFprobe(ctx, args)
	if err != nil {
		if e, ok := err.(*Error); ok && !e.notMedia && e.Hint == "" {
			// ffprobe failing on a file is about the file.
			e.notMedia = true
		}
		return Probe{}, ffprobeOut{}, fmt.Errorf("media: probe %s: %w", filepath.Base(path), err)
	}
	var fo ffprobeOut
	if err := json.Unmarshal(out, &fo); err != nil {
		return Probe{}, ffprobeOut{}, fmt.Errorf("media: probe %s: decode ffprobe output: %w", filepath.Base(path), err)
	}
	p, err := fo.probe(path)
	return p, fo, err
}

func (fo ffprobeOut) probe(path string) (Probe, error) {
	p := Probe{Format: fo.Format.FormatName}
	p.StartTime = parseSeconds(fo.Format.StartTime)
	for _, s := range fo.Streams {
		switch s.CodecType {
		case "video":
			if p.HasVideo || s.Disposition.AttachedPic == 1 {
				continue
			}
			p.HasVideo = true
			p.vIdx = s.Index
			p.vID = -1
			if id, err := strconv.ParseInt(s.ID, 0, 64); err == nil {
				p.vID = id
			}
			p.VideoCodec, p.PixFmt, p.Profile, p.Level = s.CodecName, s.PixFmt, s.Profile, s.Level
			p.Width, p.Height = s.Width, s.Height
			p.Reorder = s.HasBFrames
			p.FrameRate = parseRate(s.AvgFrameRate)
			r := parseRate(s.RFrameRate)
			if p.FrameRate == 0 {
				p.FrameRate = r
			}
			if r > 0 && p.FrameRate > 0 && math.Abs(r-p.FrameRate)/r > 0.05 {
				p.VFR = true
			}
			p.tbNum, p.tbDen = parseRatio(s.TimeBase)
			for _, sd := range s.SideData {
				if sd.Rotation != 0 {
					p.Rotation = sd.Rotation
				}
			}
		case "audio":
			if p.HasAudio {
				continue
			}
			p.HasAudio = true
			p.aIdx = s.Index
			p.AudioCodec = s.CodecName
			p.SampleRate, _ = strconv.Atoi(s.SampleRate)
			p.Channels = s.Channels
		}
	}
	p.Duration = parseSeconds(fo.Format.Duration)
	if !p.HasVideo && !p.HasAudio {
		return Probe{}, fmt.Errorf("%w: %s holds no audio or video stream", ErrNotMedia, filepath.Base(path))
	}
	if p.Duration <= 0 {
		return Probe{}, fmt.Errorf("%w: %s has no duration (truncated or a still image?)", ErrNotMedia, filepath.Base(path))
	}
	return p, nil
}

func parseSeconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e9 {
		return 0
	}
	return time.Duration(math.Round(f*1e6)) * time.Microsecond
}

func parseRatio(s string) (int64, int64) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0
	}
	n, err1 := strconv.ParseInt(a, 10, 64)
	d, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 || d <= 0 {
		return 0, 0
	}
	return n, d
}

func parseRate(s string) float64 {
	n, d := parseRatio(s)
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// packets is the result of a packet scan of the video stream.
type packets struct {
	pts []time.Duration // presentation times, sorted, relative to the start
	// dts[i] is the decode time of the frame shown at pts[i]; nil when some are unknown.
	dts     []time.Duration
	keys    []time.Duration // keyframe times, sorted
	keyDTS  []time.Duration // decode times of keys[i] (fast mode ends a copy on them)
	openGOP bool
}

// frameDur is the median frame duration.
func (pk packets) frameDur() time.Duration {
	if len(pk.pts) < 2 {
		return 40 * time.Millisecond
	}
	d := make([]time.Duration, 0, len(pk.pts)-1)
	for i := 1; i < len(pk.pts); i++ {
		d = append(d, pk.pts[i]-pk.pts[i-1])
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// vfr reports whether more than 1% of frame durations stray over 25% from
// the median.
func (pk packets) vfr() bool {
	if len(pk.pts) < 3 {
		return false
	}
	med := pk.frameDur()
	odd := 0
	for i := 1; i < len(pk.pts); i++ {
		d := pk.pts[i] - pk.pts[i-1]
		if d < med*3/4 || d > med*5/4 {
			odd++
		}
	}
	return odd*100 > len(pk.pts)-1
}

func scanPackets(ctx context.Context, path string, p Probe, limit time.Duration) (packets, error) {
	out, err := runFFprobe(ctx, packetArgs(path, p.vIdx, limit))
	if err != nil {
		return packets{}, fmt.Errorf("media: scan packets of %s: %w", filepath.Base(path), err)
	}
	return parsePackets(out, p.tbNum, p.tbDen, p.StartTime), nil
}

// parsePackets reads ffprobe's csv lines "pts,dts,flags" (decode order; ffmpeg
// 5.1 may add a trailing comma).
func parsePackets(out []byte, tbNum, tbDen int64, start time.Duration) packets {
	if tbNum <= 0 || tbDen <= 0 {
		tbNum, tbDen = 1, 90000
	}
	conv := func(v int64) time.Duration {
		// v*tbNum/tbDen seconds, in integer arithmetic without overflow.
		n := v * tbNum
		return time.Duration(n/tbDen)*time.Second + time.Duration((n%tbDen)*1e9/tbDen)
	}
	var pk packets
	var lastKey time.Duration
	haveKey, dtsKnown := false, true
	var keys []pkt
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(strings.TrimSpace(line), ",")
		if len(f) < 3 {
			continue
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || v > 1<<40 || v < -(1<<40) {
			continue
		}
		t := conv(v) - start
		d := t
		if v, err := strconv.ParseInt(f[1], 10, 64); err == nil && v <= 1<<40 && v >= -(1<<40) {
			d = conv(v) - start
		} else {
			dtsKnown = false
		}
		key := strings.Contains(f[2], "K")
		if key {
			keys = append(keys, pkt{pts: t, dts: d, key: true})
			lastKey, haveKey = t, true
		} else if haveKey && t < lastKey {
			pk.openGOP = true
		}
		pk.pts = append(pk.pts, t)
		pk.dts = append(pk.dts, d)
	}
	pk.pts, pk.dts = byPTS(pk.pts, pk.dts)
	if !dtsKnown {
		pk.dts = nil
	}
	pk.setKeys(keys)
	return pk
}

// setKeys lists the keyframes ks, in any order, as pk's keys with their decode times, sorted
// by presentation time; a keyframe listed twice (overlapping windows) is kept once, as byPTS
// keeps its frame once.
func (pk *packets) setKeys(ks []pkt) {
	slices.SortFunc(ks, func(a, b pkt) int { return cmp.Compare(a.pts, b.pts) })
	ks = slices.CompactFunc(ks, func(a, b pkt) bool { return a.pts == b.pts && a.dts == b.dts })
	for _, k := range ks {
		pk.keys = append(pk.keys, k.pts)
		pk.keyDTS = append(pk.keyDTS, k.dts)
	}
}

// byPTS sorts frames listed in decode order (pts[i] shown, dts[i] decoded) by presentation
// time, each keeping its decode time; a frame listed twice (overlapping windows) is kept once.
func byPTS(pts, dts []time.Duration) ([]time.Duration, []time.Duration) {
	type frame struct{ pts, dts time.Duration }
	fs := make([]frame, len(pts))
	for i := range pts {
		fs[i] = frame{pts[i], dts[i]}
	}
	slices.SortStableFunc(fs, func(a, b frame) int { return cmp.Compare(a.pts, b.pts) })
	fs = slices.CompactFunc(fs, func(a, b frame) bool { return a.pts == b.pts })
	pts, dts = make([]time.Duration, len(fs)), make([]time.Duration, len(fs))
	for i, f := range fs {
		pts[i], dts[i] = f.pts, f.dts
	}
	return pts, dts
}
