package media

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// DefaultLadder are the rendition heights when RenderOptions.Ladder is empty.
var DefaultLadder = []int{1080, 720, 360}

// segmentSeconds is the HLS segment length (keyframes are forced on it).
const segmentSeconds = 4

// Loudnorm is the single-pass EBU R128 filter applied by RenderOptions.Loudnorm.
const Loudnorm = "loudnorm=I=-16:TP=-1.5:LRA=11"

// ladder caps heights at the source height, drops duplicates, keeps order,
// and makes heights even.
func ladder(want []int, srcH int) []int {
	if len(want) == 0 {
		want = DefaultLadder
	}
	var out []int
	for _, h := range want {
		if h <= 0 {
			continue
		}
		h = min(h, srcH) &^ 1
		if h > 0 && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// evenWidth is the width of a picture scaled to height h, keeping the
// aspect ratio, rounded to an even number.
func evenWidth(srcW, srcH, h int) int {
	if srcH == 0 {
		return h * 16 / 9 &^ 1
	}
	return max(2, int(math.Round(float64(srcW)*float64(h)/float64(srcH)/2))*2)
}

// mp4Args writes the progressive MP4: a remux with +faststart, the audio
// loudness-normalised when asked, the subtitles burnt in when burn != "".
func mp4Args(in string, loudnorm bool, burn string, hasAudio bool, out string) []string {
	src := ffmpeg.Input(fileURL(in), untrusted(nil))
	kw := ffmpeg.KwArgs{"c:v": "copy", "movflags": "+faststart", "format": "mp4", "sn": "", "dn": ""}
	v := src.Get("v:0")
	if burn != "" {
		v = v.Filter("subtitles", nil, ffmpeg.KwArgs{"filename": burn}).Filter("format", ffmpeg.Args{"yuv420p"})
		kw["c:v"] = "libx264"
		kw["preset"] = "veryfast"
		kw["crf"] = 20
		kw["profile:v"] = "high"
	}
	streams := []*ffmpeg.Stream{v}
	if hasAudio {
		a := src.Get("a:0")
		if loudnorm {
			a = a.Filter("loudnorm", nil, ffmpeg.KwArgs{"I": "-16", "TP": "-1.5", "LRA": "11"}).
				Filter("aresample", ffmpeg.Args{"48000"})
			aacArgs(kw)
			kw["ac"] = 2 // loudnorm's output layout is not always one AAC takes
		} else {
			kw["c:a"] = "copy"
		}
		streams = append(streams, a)
	}
	return ffmpeg.Output(streams, fileURL(out), kw).GetArgs()
}

// audioArgs writes the audio-only rendition (audio.m4a) by stream copy of video.mp4's AAC track:
// podcast apps take it as an enclosure, and a learner on a weak connection can follow a
// workshop by ear. Copying costs a fraction of a second; the track is already AAC (the cut
// and mp4Args make it so).
func audioArgs(in, out string) []string {
	return ffmpeg.Input(fileURL(in), untrusted(nil)).Get("a:0").
		Output(fileURL(out), ffmpeg.KwArgs{"c:a": "copy", "vn": "", "sn": "", "dn": "", "movflags": "+faststart", "format": "ipod"}).
		GetArgs()
}

// hlsArgs encodes one rendition of in (our MP4) as fMP4 HLS into dir.
func hlsArgs(in string, w, h int, fps float64, hasAudio bool, dir string) []string {
	src := ffmpeg.Input(fileURL(in), untrusted(nil))
	v := src.Get("v:0").Filter("scale", ffmpeg.Args{fmt.Sprintf("%d:%d", w, h)}).Filter("format", ffmpeg.Args{"yuv420p"})
	rate := maxrateFor(w, h)
	kw := ffmpeg.KwArgs{
		"c:v": "libx264", "preset": "veryfast", "crf": 21, "profile:v": "high",
		"level:v":          fmt.Sprintf("%d.%d", levelFor(w, h, fps)/10, levelFor(w, h, fps)%10),
		"maxrate":          fmt.Sprintf("%dk", rate),
		"bufsize":          fmt.Sprintf("%dk", 2*rate),
		"force_key_frames": fmt.Sprintf("expr:gte(t,n_forced*%d)", segmentSeconds),
		"sc_threshold":     0,
		"format":           "hls", "hls_time": segmentSeconds, "hls_playlist_type": "vod",
		"hls_segment_type": "fmp4", "hls_fmp4_init_filename": "init.mp4",
		"hls_flags":            "independent_segments",
		"hls_segment_filename": fileURL(filepath.Join(dir, "seg_%04d.m4s")),
		"sn":                   "", "dn": "",
	}
	streams := []*ffmpeg.Stream{v}
	if hasAudio {
		streams = append(streams, src.Get("a:0"))
		aacArgs(kw)
		kw["ac"] = 2
	}
	return ffmpeg.Output(streams, fileURL(filepath.Join(dir, "index.m3u8")), kw).GetArgs()
}

// posterArgs grabs one frame at t, at most 720 lines high.
func posterArgs(in string, at time.Duration, w, h int, out string) []string {
	return ffmpeg.Input(fileURL(in), untrusted(ffmpeg.KwArgs{"ss": secs(at)})).Get("v:0").
		Filter("scale", ffmpeg.Args{fmt.Sprintf("%d:%d", w, h)}).
		Output(fileURL(out), ffmpeg.KwArgs{"frames:v": 1, "q:v": 3, "update": 1, "format": "image2"}).GetArgs()
}

// storyboard is the layout of the seek-preview sprite.
type storyboard struct {
	Every      time.Duration // one thumbnail per interval
	Count      int
	Cols, Rows int
	W, H       int  // thumbnail size
	KeysOnly   bool // decode keyframes only
}

// storyboardFor picks an interval (whole seconds, at least 2 s) so that at
// most 100 thumbnails of 160 px cover dur.
func storyboardFor(dur time.Duration, srcW, srcH int) storyboard {
	n := max(2, int(math.Ceil(dur.Seconds()/100)))
	sb := storyboard{Every: time.Duration(n) * time.Second}
	sb.Count = max(1, int(math.Ceil(dur.Seconds()/float64(n))))
	sb.Cols = min(10, sb.Count)
	sb.Rows = (sb.Count + sb.Cols - 1) / sb.Cols
	sb.W = 160
	sb.H = max(2, evenWidth(srcH, srcW, 160)) // height for width 160
	return sb
}

// storyboardArgs tiles one thumbnail per interval into a sprite.
func storyboardArgs(in string, sb storyboard, out string) []string {
	kw := ffmpeg.KwArgs{}
	if sb.KeysOnly {
		kw["skip_frame"] = "nokey"
	}
	return ffmpeg.Input(fileURL(in), untrusted(kw)).Get("v:0").
		// eof_action=pass keeps the last interval's frame: with keyframes only, fps would
		// otherwise wait for a next frame that never comes and leave the last tile black.
		Filter("fps", ffmpeg.Args{fmt.Sprintf("1/%d", int(sb.Every/time.Second))}, ffmpeg.KwArgs{"eof_action": "pass"}).
		Filter("scale", ffmpeg.Args{fmt.Sprintf("%d:%d", sb.W, sb.H)}).
		Filter("tile", ffmpeg.Args{fmt.Sprintf("%dx%d", sb.Cols, sb.Rows)}).
		Output(fileURL(out), ffmpeg.KwArgs{"frames:v": 1, "q:v": 4, "update": 1, "format": "image2"}).GetArgs()
}

// vttTime formats d as a WebVTT timestamp.
func vttTime(d time.Duration) string {
	d = max(d, 0)
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// storyboardVTT is the WebVTT thumbnails track of sprite sb over dur.
func storyboardVTT(sb storyboard, dur time.Duration, sprite string) []byte {
	var b strings.Builder
	b.WriteString("WEBVTT\n")
	for i := 0; i < sb.Count; i++ {
		start := time.Duration(i) * sb.Every
		end := min(start+sb.Every, dur)
		if i == sb.Count-1 {
			end = dur
		}
		if end <= start {
			break
		}
		fmt.Fprintf(&b, "\n%s --> %s\n%s#xywh=%d,%d,%d,%d\n", vttTime(start), vttTime(end), sprite,
			(i%sb.Cols)*sb.W, (i/sb.Cols)*sb.H, sb.W, sb.H)
	}
	return []byte(b.String())
}

// ChaptersVTT is the WebVTT chapters track: each chapter runs to the next
// one, the last to dur. Chapters must be sorted and start before dur.
func ChaptersVTT(chapters []Chapter, dur time.Duration) ([]byte, error) {
	var b strings.Builder
	b.WriteString("WEBVTT\n")
	for i, c := range chapters {
		if c.Start < 0 || c.Start >= dur {
			return nil, fmt.Errorf("%w: chapter %d %q starts at %s, outside the replay (%s)", ErrOutOfRange, i+1, c.Title, fmtDur(c.Start), fmtDur(dur))
		}
		if i > 0 && c.Start <= chapters[i-1].Start {
			return nil, fmt.Errorf("media: chapter %d %q does not start after chapter %d", i+1, c.Title, i)
		}
		end := dur
		if i+1 < len(chapters) {
			end = min(chapters[i+1].Start, dur)
		}
		title := strings.Join(strings.Fields(strings.ReplaceAll(c.Title, "-->", "→")), " ")
		fmt.Fprintf(&b, "\n%d\n%s --> %s\n%s\n", i+1, vttTime(c.Start), vttTime(end), title)
	}
	return []byte(b.String()), nil
}

// Render writes the streamable outputs of cutMP4 into outDir: video.mp4, audio.m4a (when the
// source has sound), hls/master.m3u8 with one fMP4 rendition per ladder height (hls/<h>p/...,
// hls/variants.json), poster.jpg, storyboard.jpg + storyboard.vtt, and chapters.vtt when
// opt.Chapters is set.
func Render(ctx context.Context, cutMP4 string, outDir string, opt RenderOptions, progress func(Progress)) (Outputs, error) {
	if strings.Contains(outDir, "%") {
		// ffmpeg would read it as part of the segment file name pattern.
		return Outputs{}, fmt.Errorf("media: render: output directory %q must not contain %%", outDir)
	}
	p, err := probeStreams(ctx, cutMP4)
	if err != nil {
		return Outputs{}, fmt.Errorf("media: render: %w", err)
	}
	if !p.HasVideo {
		return Outputs{}, fmt.Errorf("media: render: %s has no video stream (audio-only replays are not supported)", filepath.Base(cutMP4))
	}
	if err := os.MkdirAll(filepath.Join(outDir, "hls"), 0o755); err != nil {
		return Outputs{}, fmt.Errorf("media: render: %w", err)
	}
	var chaptersVTT []byte
	if len(opt.Chapters) > 0 {
		if chaptersVTT, err = ChaptersVTT(opt.Chapters, p.Duration); err != nil {
			return Outputs{}, err
		}
	}
	work, err := os.MkdirTemp(outDir, ".render-")
	if err != nil {
		return Outputs{}, fmt.Errorf("media: render: %w", err)
	}
	defer os.RemoveAll(work)
	burn := ""
	if opt.BurnIn != "" {
		if burn, err = stageSubtitles(ctx, opt.BurnIn, work); err != nil {
			return Outputs{}, err
		}
	}

	if p.Rotation%180 != 0 { // ffmpeg turns the picture upright when encoding
		p.Width, p.Height = p.Height, p.Width
	}
	rends, stages := renderPlan(p, opt, burn != "")
	tr := newTracker(progress)
	tr.plan(stages...)

	video := filepath.Join(outDir, "video.mp4")
	tr.begin(p.Duration)
	if err := runFFmpeg(ctx, mp4Args(cutMP4, opt.Loudnorm, burn, p.HasAudio, video), tr.tick); err != nil {
		return Outputs{}, fmt.Errorf("media: render mp4: %w", err)
	}
	tr.end()
	// From here on, everything describes video.mp4 (loudnorm or burn-in may
	// have changed its length by a few milliseconds).
	vp, err := probeStreams(ctx, video)
	if err != nil {
		return Outputs{}, fmt.Errorf("media: render: check video.mp4: %w", err)
	}

	if p.HasAudio {
		if err := renderAudio(ctx, video, outDir, vp.Duration, tr); err != nil {
			return Outputs{}, err
		}
	}
	variants, err := renderLadder(ctx, video, outDir, p, rends, tr)
	if err != nil {
		return Outputs{}, err
	}
	if err := renderPreviews(ctx, video, outDir, p, vp, tr); err != nil {
		return Outputs{}, err
	}
	if chaptersVTT != nil {
		if again, err := ChaptersVTT(opt.Chapters, vp.Duration); err == nil {
			chaptersVTT = again // ends at video.mp4's exact length
		}
		if err := os.WriteFile(filepath.Join(outDir, "chapters.vtt"), chaptersVTT, 0o644); err != nil {
			return Outputs{}, fmt.Errorf("media: render: %w", err)
		}
	}
	if err := os.RemoveAll(work); err != nil {
		return Outputs{}, fmt.Errorf("media: render: %w", err)
	}
	files, err := listFiles(outDir)
	if err != nil {
		return Outputs{}, err
	}
	tr.finish()
	return Outputs{Files: files, Duration: vp.Duration, Variants: variants}, nil
}

// renderPlan picks the ladder's renditions and weighs Render's stages by their expected cost, in
// the order Render runs them (the tracker advances by index).
func renderPlan(p Probe, opt RenderOptions, burn bool) ([]rend, []stage) {
	dur := float64(p.Duration)
	mp4W := 0.02
	if opt.Loudnorm {
		mp4W = 0.1
	}
	if burn {
		mp4W = 1
	}
	stages := []stage{{"mp4", dur * mp4W}}
	if p.HasAudio {
		stages = append(stages, stage{"audio", dur * 0.005})
	}
	var rends []rend
	for _, h := range ladder(opt.Ladder, p.Height) {
		w := evenWidth(p.Width, p.Height, h)
		rends = append(rends, rend{w, h})
		stages = append(stages, stage{fmt.Sprintf("hls %dp", h), dur * (0.2 + float64(w*h)/(1280*720))})
	}
	return rends, append(stages, stage{"poster", dur * 0.005}, stage{"storyboard", dur * 0.05})
}

// renderAudio writes audio.m4a from video.mp4 (audioArgs).
func renderAudio(ctx context.Context, video, outDir string, dur time.Duration, tr *tracker) error {
	tr.begin(dur)
	if err := runFFmpeg(ctx, audioArgs(video, filepath.Join(outDir, "audio.m4a")), tr.tick); err != nil {
		return fmt.Errorf("media: render audio.m4a: %w", err)
	}
	tr.end()
	return nil
}

// rend is one rendition of the HLS ladder.
type rend struct{ w, h int }

// renderLadder encodes the HLS renditions of video.mp4 and writes the master
// playlist and hls/variants.json.
func renderLadder(ctx context.Context, video, outDir string, p Probe, rends []rend, tr *tracker) ([]Variant, error) {
	var variants []Variant
	for _, r := range rends {
		name := fmt.Sprintf("%dp", r.h)
		dir := filepath.Join(outDir, "hls", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("media: render: %w", err)
		}
		tr.begin(p.Duration)
		if err := runFFmpeg(ctx, hlsArgs(video, r.w, r.h, p.FrameRate, p.HasAudio, dir), tr.tick); err != nil {
			return nil, fmt.Errorf("media: render hls %s: %w", name, err)
		}
		tr.end()
		v, err := measureVariant(dir, name+"/index.m3u8")
		if err != nil {
			return nil, err
		}
		v.Width, v.Height = r.w, r.h
		v.FrameRate = math.Round(p.FrameRate*1000) / 1000
		lvl := levelFor(r.w, r.h, p.FrameRate)
		v.Codecs = avc1(lvl)
		if p.HasAudio {
			v.Codecs += ",mp4a.40.2"
		}
		variants = append(variants, v)
	}
	if err := os.WriteFile(filepath.Join(outDir, "hls", "master.m3u8"), MasterPlaylist(variants, nil), 0o644); err != nil {
		return nil, fmt.Errorf("media: render: %w", err)
	}
	vj, _ := json.MarshalIndent(variants, "", "  ")
	if err := os.WriteFile(filepath.Join(outDir, "hls", "variants.json"), append(vj, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("media: render: %w", err)
	}
	return variants, nil
}

// renderPreviews writes the poster and the storyboard (sprite and WebVTT) of
// video.mp4; vp is its probe.
func renderPreviews(ctx context.Context, video, outDir string, p, vp Probe, tr *tracker) error {
	if err := renderPoster(ctx, video, outDir, p.Width, p.Height, p.Duration, tr); err != nil {
		return err
	}
	return renderStoryboard(ctx, video, outDir, p.Width, p.Height, vp, -1, tr)
}

// renderPoster grabs poster.jpg from video.mp4 (w×h upright, dur long), at most 720 lines high.
func renderPoster(ctx context.Context, video, outDir string, w, h int, dur time.Duration, tr *tracker) error {
	ph := min(720, h) &^ 1
	at := min(dur/10, 10*time.Second)
	tr.begin(0)
	if err := runFFmpeg(ctx, posterArgs(video, at, evenWidth(w, h, ph), ph, filepath.Join(outDir, "poster.jpg")), tr.tick); err != nil {
		return fmt.Errorf("media: render poster: %w", err)
	}
	tr.end()
	return nil
}

// renderStoryboard writes storyboard.jpg and storyboard.vtt of video.mp4 (probe vp, w×h
// upright). keyGap is its longest keyframe interval when known, else negative: then the first
// two minutes are scanned for it.
func renderStoryboard(ctx context.Context, video, outDir string, w, h int, vp Probe, keyGap time.Duration, tr *tracker) error {
	sb := storyboardFor(vp.Duration, w, h)
	// Decoding keyframes only is much cheaper, and right when they are at
	// least as dense as the thumbnails.
	if keyGap < 0 {
		if pk, err := scanPackets(ctx, video, vp, 2*time.Minute); err == nil {
			keyGap = pk.maxKeyGap()
		}
	}
	if keyGap >= 0 && keyGap <= sb.Every {
		sb.KeysOnly = true
	}
	tr.begin(vp.Duration)
	if err := runFFmpeg(ctx, storyboardArgs(video, sb, filepath.Join(outDir, "storyboard.jpg")), tr.tick); err != nil {
		return fmt.Errorf("media: render storyboard: %w", err)
	}
	tr.end()
	if err := os.WriteFile(filepath.Join(outDir, "storyboard.vtt"), storyboardVTT(sb, vp.Duration, "storyboard.jpg"), 0o644); err != nil {
		return fmt.Errorf("media: render: %w", err)
	}
	return nil
}

// measureVariant reads a rendition's playlist and sizes its segments for
// BANDWIDTH (peak segment bit rate) and AVERAGE-BANDWIDTH.
func measureVariant(dir, uri string) (Variant, error) {
	data, err := os.ReadFile(filepath.Join(dir, "index.m3u8"))
	if err != nil {
		return Variant{}, fmt.Errorf("media: render: %w", err)
	}
	pl, err := ParseMediaPlaylist(data)
	if err != nil {
		return Variant{}, err
	}
	var initSize int64
	if pl.Init != "" {
		st, err := os.Stat(filepath.Join(dir, pl.Init))
		if err != nil {
			return Variant{}, fmt.Errorf("media: render: %w", err)
		}
		initSize = st.Size()
	}
	var total int64
	var totalDur time.Duration
	peak := 0.0
	for _, s := range pl.Segments {
		st, err := os.Stat(filepath.Join(dir, s.URI))
		if err != nil {
			return Variant{}, fmt.Errorf("media: render: %w", err)
		}
		total += st.Size()
		totalDur += s.Duration
		// Short last segments give silly peaks: measure over at least 1 s.
		if d := max(s.Duration.Seconds(), 1); float64(st.Size()*8)/d > peak {
			peak = float64(st.Size()*8) / d
		}
	}
	v := Variant{URI: uri, Bandwidth: int(peak) + 1}
	if totalDur > 0 {
		v.AverageBandwidth = int(float64((total+initSize)*8)/totalDur.Seconds()) + 1
	}
	v.Bandwidth = max(v.Bandwidth, v.AverageBandwidth)
	return v, nil
}

// stageSubtitles checks that path is a text subtitle file (never a playlist)
// and copies it into work under a plain name safe in a filter graph.
func stageSubtitles(ctx context.Context, path, work string) (string, error) {
	args := []string{"-v", "error", "-protocol_whitelist", "file,pipe", "-format_whitelist", "srt,webvtt,ass",
		"-show_entries", "stream=codec_type", "-of", "csv=p=0", fileURL(path)}
	out, err := runFFprobe(ctx, args)
	if err != nil || !strings.Contains(string(out), "subtitle") {
		return "", fmt.Errorf("media: render: burn-in %s is not a subtitle file (srt, vtt, ass): %w", filepath.Base(path), orNotMedia(err))
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".srt" && ext != ".vtt" && ext != ".ass" {
		ext = ".srt"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("media: render: %w", err)
	}
	dst := filepath.Join(work, "burn"+ext)
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		return "", fmt.Errorf("media: render: %w", err)
	}
	return dst, nil
}

func orNotMedia(err error) error {
	if err != nil {
		return err
	}
	return ErrNotMedia
}

// listFiles lists the regular files under dir, relative and slash separated.
func listFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("media: render: list outputs: %w", err)
	}
	slices.Sort(files)
	return files, nil
}

// RenderBurnIn writes dst: cutMP4 as an MP4 (H.264/AAC, +faststart, loudness-normalised when
// loudnorm is set, like Render's video.mp4) with the subtitle file subs (srt, vtt, ass) burnt into
// the picture, for platforms that cannot show subtitle tracks. It is a rendition of its own
// beside Render's outputs, which keep their separate tracks. It returns dst's duration.
func RenderBurnIn(ctx context.Context, cutMP4, subs, dst string, loudnorm bool, progress func(Progress)) (time.Duration, error) {
	p, err := probeStreams(ctx, cutMP4)
	if err != nil {
		return 0, fmt.Errorf("media: burn-in: %w", err)
	}
	if !p.HasVideo {
		return 0, fmt.Errorf("media: burn-in: %s has no video stream", filepath.Base(cutMP4))
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, fmt.Errorf("media: burn-in: %w", err)
	}
	work, err := os.MkdirTemp(filepath.Dir(dst), ".burnin-")
	if err != nil {
		return 0, fmt.Errorf("media: burn-in: %w", err)
	}
	defer os.RemoveAll(work)
	burn, err := stageSubtitles(ctx, subs, work)
	if err != nil {
		return 0, err
	}
	tr := newTracker(progress)
	tr.plan(stage{"burn-in", float64(p.Duration)})
	tr.begin(p.Duration)
	if err := runFFmpeg(ctx, mp4Args(cutMP4, loudnorm, burn, p.HasAudio, dst), tr.tick); err != nil {
		return 0, fmt.Errorf("media: burn-in: %w", err)
	}
	tr.end()
	vp, err := probeStreams(ctx, dst)
	if err != nil {
		return 0, fmt.Errorf("media: burn-in: check %s: %w", filepath.Base(dst), err)
	}
	tr.finish()
	return vp.Duration, nil
}
