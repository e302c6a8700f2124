package media

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"
)

// endSlack is how far past the probed duration a kept range may end and
// still be taken as "to the end": containers round their durations.
const endSlack = 100 * time.Millisecond

// checkSpans validates keep against the source duration and returns it with
// ends clamped to the duration.
func checkSpans(keep []Span, dur time.Duration) ([]Span, error) {
	if len(keep) == 0 {
		return nil, errors.New("media: cut: nothing to keep")
	}
	out := make([]Span, len(keep))
	for i, s := range keep {
		switch {
		case s.Start < 0 || s.End <= s.Start:
			return nil, fmt.Errorf("media: cut: keep range %d %s is empty or negative", i+1, s)
		case i > 0 && s.Start < keep[i-1].End:
			return nil, fmt.Errorf("media: cut: keep range %d %s overlaps or precedes range %d %s", i+1, s, i, keep[i-1])
		case dur > 0 && s.Start >= dur:
			return nil, fmt.Errorf("%w: keep range %d %s starts after the end of the source (%s)", ErrOutOfRange, i+1, s, fmtDur(dur))
		case dur > 0 && s.End > dur+endSlack:
			return nil, fmt.Errorf("%w: keep range %d %s ends after the end of the source (%s)", ErrOutOfRange, i+1, s, fmtDur(dur))
		}
		if dur > 0 && s.End > dur {
			s.End = dur
		}
		out[i] = s
	}
	return out, nil
}

// frameRange is a run of frames [I0, I1) by index into packets.pts.
type frameRange struct{ I0, I1 int }

// frameRanges maps source spans to frame indexes: a frame is kept when its
// pts lies in [Start, End) (half a millisecond of slack for rounded input).
func frameRanges(pk packets, spans []Span) ([]frameRange, error) {
	const slack = 500 * time.Microsecond
	var out []frameRange
	for i, s := range spans {
		i0 := sort.Search(len(pk.pts), func(j int) bool { return pk.pts[j] >= s.Start-slack })
		i1 := sort.Search(len(pk.pts), func(j int) bool { return pk.pts[j] >= s.End-slack })
		if i1 <= i0 {
			return nil, fmt.Errorf("media: cut: keep range %d %s holds no video frame", i+1, s)
		}
		out = append(out, frameRange{i0, i1})
	}
	return out, nil
}

// ptsAt is the time of frame i, or the end of the last frame.
func (pk packets) ptsAt(i int, frame time.Duration) time.Duration {
	if i < len(pk.pts) {
		return pk.pts[i]
	}
	if len(pk.pts) == 0 {
		return 0
	}
	return pk.pts[len(pk.pts)-1] + frame
}

// maxKeyGap is the longest stretch without a keyframe, the end included.
func (pk packets) maxKeyGap() time.Duration {
	if len(pk.keys) == 0 || len(pk.pts) == 0 {
		return time.Duration(1<<63 - 1)
	}
	gap := pk.keys[0] - pk.pts[0]
	for i := 1; i < len(pk.keys); i++ {
		gap = max(gap, pk.keys[i]-pk.keys[i-1])
	}
	return max(gap, pk.pts[len(pk.pts)-1]-pk.keys[len(pk.keys)-1])
}

func (pk packets) isKey(i int) bool {
	if i >= len(pk.pts) {
		return false
	}
	j := sort.Search(len(pk.keys), func(j int) bool { return pk.keys[j] >= pk.pts[i] })
	return j < len(pk.keys) && pk.keys[j] == pk.pts[i]
}

// snapOut widens frame ranges to keyframes (fast mode) and merges those
// that then touch.
func snapOut(pk packets, frs []frameRange) []frameRange {
	var out []frameRange
	for _, fr := range frs {
		for fr.I0 > 0 && !pk.isKey(fr.I0) {
			fr.I0--
		}
		for fr.I1 < len(pk.pts) && !pk.isKey(fr.I1) {
			fr.I1++
		}
		if n := len(out); n > 0 && fr.I0 <= out[n-1].I1 {
			out[n-1].I1 = max(out[n-1].I1, fr.I1)
			continue
		}
		out = append(out, fr)
	}
	return out
}

// keyAt is the index in keys of the keyframe at frame i, if it is one.
func (pk packets) keyAt(i int) (int, bool) {
	if i >= len(pk.pts) {
		return 0, false
	}
	j := sort.Search(len(pk.keys), func(j int) bool { return pk.keys[j] >= pk.pts[i] })
	return j, j < len(pk.keys) && pk.keys[j] == pk.pts[i]
}

// delayAt is how long before it is shown the first keyframe at or after frame i is decoded
// (pts - dts; the last keyframe's past the last one, 0 without keyframes).
func (pk packets) delayAt(i int) time.Duration {
	if len(pk.keys) == 0 || len(pk.keyDTS) != len(pk.keys) {
		return 0
	}
	t := pk.ptsAt(i, pk.frameDur())
	j := min(sort.Search(len(pk.keys), func(j int) bool { return pk.keys[j] >= t }), len(pk.keys)-1)
	return max(0, pk.keys[j]-pk.keyDTS[j])
}

// planPieces splits a frame range into a re-encoded head up to the first
// keyframe, a copied middle between keyframes, and a re-encoded tail
// (accurate mode), or one copied piece (fast mode, already snapped).
func planPieces(pk packets, fr frameRange, fast bool) []piece {
	fd := pk.frameDur()
	lasts := func(i0, i1 int) time.Duration { return pk.ptsAt(i1, fd) - pk.pts[i0] }
	copied := func(i0, i1 int) piece {
		pc := piece{Start: pk.pts[i0], Frames: i1 - i0, Copy: true, Dur: lasts(i0, i1)}
		if j, ok := pk.keyAt(i1); ok {
			pc.Out = pk.keyDTS[j]
		}
		return pc
	}
	encoded := func(i0, i1 int) piece {
		// The delay of the keyframe after the piece, or of the one it starts on (a tail):
		// the copied GOP it touches.
		at := i1
		if pk.isKey(i0) {
			at = i0
		}
		return piece{Start: pk.pts[i0], Frames: i1 - i0, Key: pk.isKey(i0), Dur: lasts(i0, i1), Delay: pk.delayAt(at)}
	}
	if fast {
		return []piece{copied(fr.I0, fr.I1)}
	}
	k1 := -1
	for i := fr.I0; i < fr.I1; i++ {
		if pk.isKey(i) {
			k1 = i
			break
		}
	}
	if k1 < 0 {
		return []piece{encoded(fr.I0, fr.I1)}
	}
	k2 := k1
	for i := fr.I1; i > k1; i-- {
		if pk.isKey(i) || i == len(pk.pts) { // the end of the file closes a GOP too
			k2 = i
			break
		}
	}
	var ps []piece
	if k1 > fr.I0 {
		ps = append(ps, encoded(fr.I0, k1))
	}
	if k2 > k1 {
		ps = append(ps, copied(k1, k2))
	}
	if fr.I1 > k2 {
		if out, ok := pk.tailOut(k2, fr.I1); ok {
			// The tail is copied too, with the GOPs before it when there are some.
			i0 := k2
			if k2 > k1 {
				i0, ps = k1, ps[:len(ps)-1]
			}
			pc := copied(i0, fr.I1)
			pc.Out = out
			return append(ps, pc)
		}
		ps = append(ps, encoded(k2, fr.I1))
	}
	return ps
}

// tailOut says whether the frames [k, i1) after keyframe k can be copied as they are: they
// are the first ones decoded from k, so none refers to a frame shown after them. It returns
// where such a copy ends, the decode time of the next packet (a copied piece's Out). Without
// B-frames every tail qualifies; with them, a tail ending on a frame that no B-frame before
// it waits for (about one in bframes+1 with x264). Measured on the bench's 10-minute 1080p
// media, 2 of its 3 tails: each re-encoded tail cost about 0.5 s of CPU (one ffmpeg run).
// The next piece, re-encoded, may be decoded up to the source's delay before it is shown
// (piece.Delay): the copy must be decoded before that.
func (pk packets) tailOut(k, i1 int) (time.Duration, bool) {
	if len(pk.dts) != len(pk.pts) || i1 >= len(pk.pts) || k >= i1 {
		return 0, false
	}
	last := pk.dts[k]
	for i := k; i < i1; i++ {
		last = max(last, pk.dts[i])
	}
	// The first packet decoded after them is in the rest of their GOP, or the next keyframe.
	next := pk.dts[i1]
	for i := i1; i < len(pk.pts); i++ {
		next = min(next, pk.dts[i])
		if i > i1 && pk.isKey(i) {
			break
		}
	}
	delay := pk.pts[k] - pk.dts[k]
	if last >= next || last+delay >= pk.pts[i1] || next <= 0 {
		return 0, false
	}
	return next, true
}

// smartBlocker says why src cannot be cut by copying GOPs, or "".
func smartBlocker(p Probe) string {
	switch {
	case p.VideoCodec != "h264":
		return fmt.Sprintf("video codec %s is not H.264", p.VideoCodec)
	case p.OpenGOP:
		return "the source uses open GOPs"
	case x264Profile(p.Profile) == "":
		return fmt.Sprintf("H.264 profile %q cannot be matched", p.Profile)
	case p.PixFmt != "yuv420p" && p.PixFmt != "yuvj420p":
		return fmt.Sprintf("pixel format %s cannot be matched", p.PixFmt)
	case p.Reorder > 2:
		// x264 reorders 2 frames at most (B-pyramid).
		return fmt.Sprintf("the source reorders %d frames, more than re-encoded pieces can", p.Reorder)
	case p.Rotation != 0:
		// Re-encoded pieces would be turned upright, copied ones not.
		return fmt.Sprintf("the video is rotated %d°", p.Rotation)
	}
	return ""
}

// Cut keeps the spans keep of src (sorted, not overlapping, in source time)
// and writes them joined to out, an MP4 (H.264/AAC, +faststart).
//
// Accurate mode falls back to reencode, and says so in CutResult.Fallback,
// when the source is not 8-bit 4:2:0 H.264 (high/main/baseline), uses open
// GOPs, is rotated (phones), or reorders more frames than x264 can: copied GOPs would then
// not decode cleanly. Variable frame rate sources are smart-cut (see the package doc). Fast
// mode falls back likewise.
//
// Fast mode copies the audio too when it is AAC (within one AAC frame of
// the video at each join, see the package doc), finds the keyframes in the
// probe's windows around the cut points when they prove them, and reports
// the output's duration from the snapped points instead of probing it.
func Cut(ctx context.Context, src string, keep []Span, mode CutMode, out string, progress func(Progress)) (CutResult, error) {
	if !mode.Valid() {
		return CutResult{}, fmt.Errorf("media: cut: unknown mode %q (fast, accurate or reencode)", mode)
	}
	tr := newTracker(progress)
	j, res, err := analyseCut(ctx, src, keep, mode, tr)
	if err != nil {
		return CutResult{}, err
	}
	work, err := os.MkdirTemp(filepath.Dir(out), ".cut-")
	if err != nil {
		return CutResult{}, fmt.Errorf("media: cut: %w", err)
	}
	defer os.RemoveAll(work)
	j.work, j.part = work, filepath.Join(work, "out.mp4")

	// The three strategies, one function each.
	switch {
	case res.Mode == CutReencode:
		err = j.reencode(ctx, &res)
	case res.Mode == CutFast && j.copyAudio:
		err = j.copyGOPs(ctx, &res)
	default: // accurate (smart cut), or fast with audio that is not AAC
		err = j.pieces(ctx, &res)
	}
	if err != nil {
		return CutResult{}, err
	}
	if res.Duration == 0 {
		// Re-encoded, or fast with the audio encoded: ask the output.
		op, err := probeStreams(ctx, j.part)
		if err != nil {
			return CutResult{}, fmt.Errorf("media: cut: check output: %w", err)
		}
		res.Duration = op.Duration
	}
	if err := os.Rename(j.part, out); err != nil {
		return CutResult{}, fmt.Errorf("media: cut: %w", err)
	}
	tr.finish()
	return res, nil
}

// copiesInPlace says whether the smart cut's join can read copied GOPs from the source
// itself: the concat demuxer picks the video out of it by its id (the re-encoded pieces'
// tracks take the same id), and the pieces can share the source's time base.
func (p Probe) copiesInPlace() bool { return p.vID > 0 && p.tbNum == 1 && p.tbDen > 0 }

// cutJob is what the three cut strategies share: the source, its probe and
// (unless the fast cut's windows sufficed) its packets, the checked spans.
type cutJob struct {
	src        string
	work, part string // the work directory and the output written in it
	p          Probe
	pk         packets
	spans      []Span
	// segs and windowed: a fast cut's keyframes (segs), or a smart cut's
	// packets (pk, those of the windows only), came from the windows around
	// the cut points, listed by the probe itself, and the whole file was not
	// scanned.
	segs     []copySeg
	windowed bool
	// copyAudio: fast mode copies the audio when it is AAC (MP4 and
	// browsers take it as is), and encodes it otherwise.
	copyAudio bool
	tr        *tracker
}

// analyseCut probes the source (and scans its packets when needed), checks
// the spans and picks the mode really used: accurate falls back to reencode
// for sources it cannot smart-cut.
func analyseCut(ctx context.Context, src string, keep []Span, mode CutMode, tr *tracker) (*cutJob, CutResult, error) {
	j := &cutJob{src: src, tr: tr}
	res := CutResult{Mode: mode}
	var err error
	switch mode {
	case CutFast:
		j.p, j.spans, j.segs, res.Actual, j.windowed, err = probeWindows(ctx, src, keep)
	case CutAccurate:
		// The smart cut plans its pieces from the windows around the cut points as well,
		// when they prove the plan: the whole file's packet scan was its own ffprobe run,
		// 0.6-0.9 s of CPU on the bench's 10-minute 1080p media.
		var w *windowScan
		if j.p, j.spans, w, err = probeWindowRuns(ctx, src, keep); err == nil && w != nil {
			j.pk, j.windowed = w.packets(j.spans)
		}
	default:
		if j.p, err = probeStreams(ctx, src); err == nil {
			j.spans, err = checkSpans(keep, j.p.Duration)
		}
	}
	if err != nil {
		return nil, CutResult{}, err
	}
	p := &j.p
	j.copyAudio = !p.HasAudio || p.AudioCodec == "aac"
	switch {
	case smartBlocker(*p) != "":
		// Falls back to reencode, which needs every frame.
		j.windowed = false
	case mode == CutFast && !j.copyAudio:
		// The pieces' path, with every frame's index.
		j.windowed = false
	case mode == CutAccurate && !p.copiesInPlace():
		// Copied GOPs go through MPEG-TS files cut by frame count.
		j.windowed = false
	}
	if p.HasVideo && !j.windowed {
		tr.plan(stage{"scan", float64(p.Duration) * 0.003}, stage{"cut", float64(p.Duration) * 0.3})
		tr.begin(0)
		if mode == CutFast && j.copyAudio && smartBlocker(*p) == "" && p.StartTime != 0 && !p.VFR {
			// The probe placed its windows as if the file started at 0.
			var actual []Span
			if j.segs, actual, j.windowed, err = scanWindows(ctx, src, *p, j.spans); err != nil {
				return nil, CutResult{}, err
			}
			if j.windowed {
				res.Actual = actual
			}
		}
		if !j.windowed {
			if j.pk, err = scanPackets(ctx, src, *p, 0); err != nil {
				return nil, CutResult{}, err
			}
			p.OpenGOP = j.pk.openGOP
			p.VFR = p.VFR || j.pk.vfr()
		}
		tr.end()
	}
	switch {
	case !p.HasVideo:
		res.Mode = CutReencode
	case mode == CutReencode:
	case smartBlocker(*p) != "":
		res.Mode, res.Fallback = CutReencode, smartBlocker(*p)
	}
	return j, res, nil
}

// reencode transcodes the kept frames (libx264 + AAC) in one ffmpeg run.
func (j *cutJob) reencode(ctx context.Context, res *CutResult) error {
	p, pk, tr := j.p, j.pk, j.tr
	res.Actual = j.spans
	if p.HasVideo {
		frs, err := frameRanges(pk, j.spans)
		if err != nil {
			return err
		}
		res.Actual = actualSpans(pk, frs)
	}
	var total time.Duration
	for _, s := range res.Actual {
		total += s.End - s.Start
	}
	w := float64(total)
	if !p.HasVideo {
		w *= 0.05
	}
	tr.plan(stage{"encode", w})
	tr.begin(total)
	// trim keeps frames with pts >= start and < end: shift both by a
	// quarter frame so rounding picks exactly the planned frames.
	trim := make([]Span, len(res.Actual))
	q := pk.frameDur() / 4
	for i, s := range res.Actual {
		trim[i] = s
		if p.HasVideo {
			trim[i] = Span{max(0, s.Start-q), s.End - q}
		}
	}
	if err := runFFmpeg(ctx, reencodeArgs(j.src, p.streams(), trim, res.Actual, p.HasVideo, p.HasAudio, j.part), tr.tick); err != nil {
		return fmt.Errorf("media: cut (reencode): %w", err)
	}
	tr.end()
	return nil
}

// copyGOPs is the fast cut of a source whose audio is AAC: whole GOPs of
// video through a concat script, the audio copied to pieces, one join.
func (j *cutJob) copyGOPs(ctx context.Context, res *CutResult) error {
	p, tr, segs := j.p, j.tr, j.segs
	if !j.windowed {
		var err error
		if segs, res.Actual, err = fullSnap(j.pk, j.spans); err != nil {
			return err
		}
	}
	// Source timestamps for the concat script.
	for i := range segs {
		segs[i].In += p.StartTime
		if segs[i].Out != 0 {
			segs[i].Out += p.StartTime
		}
		res.Duration += segs[i].Dur
	}
	list := filepath.Join(j.work, "list.ffconcat")
	if err := os.WriteFile(list, fastList(j.src, p.vID, segs), 0o600); err != nil {
		return fmt.Errorf("media: cut: %w", err)
	}
	var alist string
	if p.HasAudio {
		tr.plan(stage{"audio", float64(res.Duration) * 0.01}, stage{"join", float64(res.Duration) * 0.01})
		files := make([]string, len(segs))
		for i := range res.Actual {
			files[i] = filepath.Join(j.work, fmt.Sprintf("a%04d.aac", i))
		}
		tr.begin(res.Duration)
		// ffmpeg's -ss/-to count from the file's start, unlike the
		// concat script's inpoint/outpoint.
		if err := runFFmpeg(ctx, audioCopyArgs(j.src, p.streams(), res.Actual, files), tr.tick); err != nil {
			return fmt.Errorf("media: cut (fast) audio: %w", err)
		}
		tr.end()
		alist = filepath.Join(j.work, "audio.ffconcat")
		if err := os.WriteFile(alist, audioList(files, segs), 0o600); err != nil {
			return fmt.Errorf("media: cut: %w", err)
		}
	} else {
		tr.plan(stage{"join", float64(res.Duration) * 0.01})
	}
	tr.begin(res.Duration)
	v := p.streams().V
	if p.vID >= 0 {
		v = "0" // the list's only stream
	}
	if err := runFFmpeg(ctx, fastJoinArgs(list, alist, v, j.part), tr.tick); err != nil {
		return fmt.Errorf("media: cut (fast) join: %w", err)
	}
	tr.end()
	return nil
}

// pieces is the smart cut (accurate): per kept range the frames before the
// first keyframe and after the last are re-encoded, the GOPs between copied,
// the pieces joined with the audio. Fast mode with audio that is not AAC
// takes the same path with every piece copied.
//
// The re-encoded pieces (one ffmpeg run each, two at a time) and the audio
// (copied AAC, or encoded) side by side, then the join, which reads the copied
// GOPs in place from the source (accurateList). Measured on the bench's 10-minute 1080p media (3 ranges): 16.5-18.3 s
// of CPU before, in 13 runs (one per piece, the copied GOPs written to
// MPEG-TS first, then read again by the join).
func (j *cutJob) pieces(ctx context.Context, res *CutResult) error {
	p, pk, tr := j.p, j.pk, j.tr
	frs, err := frameRanges(pk, j.spans)
	if err != nil {
		return err
	}
	fast := res.Mode == CutFast // with audio that is not AAC: copy the video, encode the audio
	if fast {
		frs = snapOut(pk, frs)
	}
	res.Actual = actualSpans(pk, frs)
	fd := pk.frameDur()
	enc := encParams{Profile: x264Profile(p.Profile), PixFmt: p.PixFmt, CRF: 16, Reorder: p.Reorder}
	var pieces []piece
	for _, fr := range frs {
		pieces = append(pieces, planPieces(pk, fr, fast)...)
	}
	// Copied GOPs are read in place when they can be (copiesInPlace); otherwise they are
	// copied to MPEG-TS files first.
	inPlace := p.copiesInPlace()
	enc.Timescale = 90000
	if inPlace {
		enc.TrackID, enc.Timescale = p.vID, p.tbDen
	}
	files := make([]string, len(pieces))
	var encoded, total time.Duration
	for i, pc := range pieces {
		total += pc.Dur
		switch {
		case !pc.Copy:
			files[i] = filepath.Join(j.work, fmt.Sprintf("p%04d.mp4", i))
			encoded += pc.Dur
		case !inPlace:
			files[i] = filepath.Join(j.work, fmt.Sprintf("p%04d.ts", i))
		}
	}
	tr.plan(stage{"pieces", float64(encoded) + float64(total)*0.02}, stage{"join", float64(total) * 0.02})

	var afiles []string
	var aspans []Span
	audio, alist := "", ""
	if p.HasAudio && j.copyAudio {
		// AAC is copied in whole frames, like the fast cut's: each range's audio starts on
		// the first AAC frame at or after its first video frame (less than 21.3 ms late at
		// 48 kHz), and is laid out as long as its video, so the error never adds up. The
		// encode it replaces cost 7.5 s of the 10-minute bench media's accurate cut.
		aspans = res.Actual
		afiles = make([]string, len(res.Actual))
		segs := make([]copySeg, len(res.Actual))
		for i, s := range res.Actual {
			afiles[i] = filepath.Join(j.work, fmt.Sprintf("a%04d.aac", i))
			segs[i] = copySeg{Dur: s.Len()}
		}
		alist = filepath.Join(j.work, "audio.ffconcat")
		if err := os.WriteFile(alist, audioList(afiles, segs), 0o600); err != nil {
			return fmt.Errorf("media: cut: %w", err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	switch {
	case len(afiles) > 0:
		g.Go(func() error {
			if err := runFFmpeg(gctx, audioCopyArgs(j.src, p.streams(), aspans, afiles), nil); err != nil {
				return fmt.Errorf("media: cut (%s) audio: %w", res.Mode, err)
			}
			return nil
		})
	case p.HasAudio:
		// The audio encode (one thread, about 60x real time) runs beside the pieces.
		audio = filepath.Join(j.work, "audio.m4a")
		g.Go(func() error {
			if err := runFFmpeg(gctx, audioEncodeArgs(j.src, p.streams(), res.Actual, audio), nil); err != nil {
				return fmt.Errorf("media: cut (%s) audio: %w", res.Mode, err)
			}
			return nil
		})
	}
	// Two pieces at a time: a piece's run is mostly one decoder and one encoder thread.
	tr.begin(0)
	sem := make(chan struct{}, 2)
	for i, pc := range pieces {
		if files[i] == "" {
			continue
		}
		g.Go(func() error {
			select {
			case sem <- struct{}{}:
			case <-gctx.Done():
				return gctx.Err()
			}
			defer func() { <-sem }()
			if err := runFFmpeg(gctx, pieceArgs(j.src, p.streams(), pc, fd, enc, files[i]), nil); err != nil {
				return fmt.Errorf("media: cut (%s) piece %d: %w", res.Mode, i+1, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	tr.end()
	list := filepath.Join(j.work, "list.ffconcat")
	vID := int64(-1)
	if inPlace {
		vID = p.vID
	}
	if err := os.WriteFile(list, accurateList(j.src, p.StartTime, vID, pieces, files), 0o600); err != nil {
		return fmt.Errorf("media: cut: %w", err)
	}
	tr.begin(total)
	join := joinArgs(list, audio, j.part)
	if alist != "" {
		join = fastJoinArgs(list, alist, "0", j.part)
	}
	if err := runFFmpeg(ctx, join, tr.tick); err != nil {
		return fmt.Errorf("media: cut (%s) join: %w", res.Mode, err)
	}
	tr.end()
	if !fast || alist != "" {
		// Every piece laid out as long as its frames last, and the audio over the same
		// spans: the output is as long as the spans, no need to probe it.
		res.Duration = total
	}
	return nil
}

// fullSnap snaps spans outwards to keyframes with the whole file's packets
// and returns the copied segments (relative times, Out 0 at the end of the
// file) and the actual spans.
func fullSnap(pk packets, spans []Span) ([]copySeg, []Span, error) {
	frs, err := frameRanges(pk, spans)
	if err != nil {
		return nil, nil, err
	}
	frs = snapOut(pk, frs)
	actual := actualSpans(pk, frs)
	segs := make([]copySeg, len(frs))
	for i, fr := range frs {
		segs[i] = copySeg{In: actual[i].Start, Dur: actual[i].End - actual[i].Start}
		if fr.I1 < len(pk.pts) {
			k := sort.Search(len(pk.keys), func(j int) bool { return pk.keys[j] >= pk.pts[fr.I1] })
			segs[i].Out = pk.keyDTS[k]
		}
	}
	return segs, actual, nil
}

func actualSpans(pk packets, frs []frameRange) []Span {
	fd := pk.frameDur()
	out := make([]Span, len(frs))
	for i, fr := range frs {
		out[i] = Span{pk.ptsAt(fr.I0, fd), pk.ptsAt(fr.I1, fd)}
	}
	return out
}
