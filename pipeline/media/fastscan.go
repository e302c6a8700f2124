package media

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A fast cut only needs the keyframes around each cut point, not the
// whole file's packets: windowArgs lists the video packets of a few
// seconds around every cut point in one ffprobe run (-read_intervals; the
// demuxer seeks to the keyframe before each window's start and stops at
// its end). The answer is used only when it proves itself (see
// windowSnap); otherwise Cut scans the whole file as before.

const (
	// windowBefore, windowAfter bound the window read around a cut point:
	// it must reach the keyframes on both sides, so GOPs up to windowAfter
	// long are found without the full scan.
	windowBefore = time.Second
	windowAfter  = 6 * time.Second
	// snapSlack is frameRanges' rounding slack.
	snapSlack = 500 * time.Microsecond
)

// window is a stretch of source time (relative to the start) to read;
// End 0 reads to the end of the file.
type window struct{ Start, End time.Duration }

// cutWindows are the sorted, merged windows around the starts and ends of
// spans; near the end of the source the last one reads to the end.
func cutWindows(spans []Span, dur time.Duration) []window {
	var ws []window
	for _, s := range spans {
		for _, t := range []time.Duration{s.Start, s.End} {
			w := window{max(0, t-windowBefore), t + windowAfter}
			if w.End >= dur-windowBefore {
				w.End = 0
			}
			ws = append(ws, w)
		}
	}
	var out []window
	for _, w := range ws {
		if n := len(out); n > 0 && (out[n-1].End == 0 || w.Start <= out[n-1].End) {
			if out[n-1].End != 0 && (w.End == 0 || w.End > out[n-1].End) {
				out[n-1].End = w.End
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

// windowArgs lists the video packets (pts, dts, flags) of stream in the
// windows ws, offset by the file's start time.
func windowArgs(path string, stream int, ws []window, start time.Duration) []string {
	var iv []string
	for _, w := range ws {
		s := ""
		if w.Start > 0 {
			s = secs(w.Start + start)
		}
		e := ""
		if w.End > 0 {
			e = secs(w.End + start)
		}
		iv = append(iv, s+"%"+e)
	}
	args := []string{"-v", "error"}
	args = append(args, inputArgs()...)
	return append(args, "-select_streams", strconv.Itoa(stream), "-show_entries", "packet=pts,dts,flags",
		"-of", "csv=p=0", "-read_intervals", strings.Join(iv, ","), fileURL(path))
}

// pkt is one listed video packet.
type pkt struct {
	pts, dts time.Duration
	key      bool
}

// windowRuns splits the listed packets into runs that are contiguous in
// decode order: within a run the decode time grows by one frame duration
// (the commonest step) at every packet; a seek back or a jump starts a new
// run. It also returns that step. A stream with irregular steps (VFR) ends
// up in short runs that windowSnap refuses.
func windowRuns(out []byte, tbNum, tbDen int64, start time.Duration) ([]packets, time.Duration) {
	if tbNum <= 0 || tbDen <= 0 {
		tbNum, tbDen = 1, 90000
	}
	conv := func(v int64) time.Duration {
		n := v * tbNum
		return time.Duration(n/tbDen)*time.Second + time.Duration((n%tbDen)*1e9/tbDen)
	}
	var ps []pkt
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(strings.TrimSpace(line), ",")
		if len(f) < 3 {
			continue
		}
		p, err1 := strconv.ParseInt(f[0], 10, 64)
		d, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || p > 1<<40 || p < -(1<<40) || d > 1<<40 || d < -(1<<40) {
			return nil, 0 // a packet without timestamps: let the full scan decide
		}
		ps = append(ps, pkt{conv(p) - start, conv(d) - start, strings.Contains(f[2], "K")})
	}
	count := map[time.Duration]int{}
	var step time.Duration
	for i := 1; i < len(ps); i++ {
		if d := ps[i].dts - ps[i-1].dts; d > 0 {
			count[d]++
			if count[d] > count[step] {
				step = d
			}
		}
	}
	if step <= 0 {
		return nil, 0
	}
	var runs []packets
	var cur []pkt
	flush := func() {
		if len(cur) > 0 {
			runs = append(runs, runPackets(cur))
		}
		cur = cur[:0]
	}
	tol := step / 8
	for i, p := range ps {
		if i > 0 {
			if d := p.dts - ps[i-1].dts; d < step-tol || d > step+tol {
				flush()
			}
		}
		cur = append(cur, p)
	}
	flush()
	return runs, step
}

// runPackets is parsePackets for a run of listed packets (decode order).
func runPackets(ps []pkt) packets {
	var pk packets
	var lastKey time.Duration
	haveKey := false
	var keys []pkt
	for _, p := range ps {
		if p.key {
			keys = append(keys, p)
			lastKey, haveKey = p.pts, true
		} else if haveKey && p.pts < lastKey {
			pk.openGOP = true
		}
		pk.pts = append(pk.pts, p.pts)
		pk.dts = append(pk.dts, p.dts)
	}
	pk.pts, pk.dts = byPTS(pk.pts, pk.dts)
	pk.setKeys(keys)
	return pk
}

// windowSnap snaps spans outwards to keyframes using the runs of a window
// listing, as snapOut does with the whole file, and returns the copied
// segments (relative times, Out 0 at the end of the file), the actual spans, and whether every answer
// is proven by a run: a run holds the keyframes on both sides of the
// point, so no keyframe can hide in a part that was not read. The first
// run starts the file when the first window did; the last run reaches its
// end when the last window was open-ended.
func windowSnap(runs []packets, step time.Duration, spans []Span, firstRunFromStart, lastRunToEOF bool) ([]copySeg, []Span, bool) {
	if len(runs) == 0 {
		return nil, nil, false
	}
	for _, r := range runs {
		if r.openGOP {
			return nil, nil, false // the full scan decides (and falls back)
		}
	}
	startAt := func(s, e time.Duration) (time.Duration, bool) {
		for ri, r := range runs {
			fromStart := firstRunFromStart && ri == 0
			toEOF := lastRunToEOF && ri == len(runs)-1
			i0 := sort.Search(len(r.pts), func(j int) bool { return r.pts[j] >= s-snapSlack })
			if i0 == len(r.pts) || r.pts[i0] >= e-snapSlack {
				continue
			}
			j := sort.Search(len(r.keys), func(j int) bool { return r.keys[j] > r.pts[i0] })
			// A key at or before the frame whose GOP is whole (a later key
			// in the run, or the end of the file), and no frame before it
			// unread.
			if j == 0 || (j == len(r.keys) && !toEOF) || !(j >= 2 || r.keys[j-1] <= s-snapSlack || fromStart) {
				continue
			}
			return r.keys[j-1], true
		}
		return 0, false
	}
	type end struct {
		pts, dts time.Duration
		eof      bool
	}
	endAt := func(e time.Duration) (end, bool) {
		for ri, r := range runs {
			toEOF := lastRunToEOF && ri == len(runs)-1
			if len(r.keys) == 0 || r.keys[0] > e-snapSlack {
				continue
			}
			i1 := sort.Search(len(r.pts), func(j int) bool { return r.pts[j] >= e-snapSlack })
			if i1 == len(r.pts) {
				if toEOF {
					return end{pts: r.pts[len(r.pts)-1] + step, eof: true}, true
				}
				continue
			}
			j := sort.Search(len(r.keys), func(j int) bool { return r.keys[j] >= r.pts[i1] })
			if j == len(r.keys) {
				if toEOF {
					return end{pts: r.pts[len(r.pts)-1] + step, eof: true}, true
				}
				continue
			}
			return end{pts: r.keys[j], dts: r.keyDTS[j]}, true
		}
		return end{}, false
	}
	var segs []copySeg
	var actual []Span
	for _, s := range spans {
		k1, ok := startAt(s.Start, s.End)
		if !ok {
			return nil, nil, false
		}
		k2, ok := endAt(s.End)
		if !ok || k2.pts <= k1 {
			return nil, nil, false
		}
		out := k2.dts
		if k2.eof {
			out = 0
		}
		if n := len(actual); n > 0 && k1 <= actual[n-1].End {
			actual[n-1].End = max(actual[n-1].End, k2.pts)
			if segs[n-1].Out != 0 {
				segs[n-1].Out = out
			}
			continue
		}
		actual = append(actual, Span{k1, k2.pts})
		segs = append(segs, copySeg{In: k1, Out: out})
	}
	for i := range segs {
		segs[i].Dur = actual[i].End - actual[i].Start
	}
	return segs, actual, true
}

// probeWindowArgs are probeArgs that also list the packets of every stream
// in the windows ws (source time, assuming the file starts at 0): a fast
// cut's probe and keyframe scan in one ffprobe run.
func probeWindowArgs(path string, ws []window) []string {
	args := probeArgs(path)
	var iv []string
	for _, w := range ws {
		s := ""
		if w.Start > 0 {
			s = secs(w.Start)
		}
		iv = append(iv, s+"%"+secs(w.End))
	}
	return append(args[:len(args)-1], "-show_entries", "packet=stream_index,pts,dts,flags",
		"-read_intervals", strings.Join(iv, ","), args[len(args)-1])
}

// windowScan is a listing of the video packets in the windows around the
// cut points, split into runs (windowRuns): fromStart when the first run
// starts the file, toEOF when the last one reaches its end.
type windowScan struct {
	runs             []packets
	step             time.Duration
	fromStart, toEOF bool
}

// snap is windowSnap over the listing (the fast cut).
func (w windowScan) snap(spans []Span) ([]copySeg, []Span, bool) {
	return windowSnap(w.runs, w.step, spans, w.fromStart, w.toEOF)
}

// probeWindowRuns probes path and lists its video packets around the cut
// points of keep in the same ffprobe run (spans are checked and clamped
// here, errors are checkSpans'). The listing is nil when it cannot be used:
// no video, a file that does not start at 0 (the windows were placed as if
// it did), or frame durations that vary, where a constant decode-time step
// no longer proves that no packet lies between two listed ones.
func probeWindowRuns(ctx context.Context, path string, keep []Span) (Probe, []Span, *windowScan, error) {
	// Spans that are wrong whatever the source are refused before ffprobe: no span, no window
	// (ffprobe refuses an empty -read_intervals).
	if _, err := checkSpans(keep, 0); err != nil {
		return Probe{}, nil, nil, err
	}
	const far = 1 << 62 // the windows' ends are not known to be past the end of the file yet
	ws := cutWindows(keep, far)
	p, fo, err := probeWith(ctx, path, probeWindowArgs(path, ws))
	if err != nil {
		return Probe{}, nil, nil, err
	}
	spans, err := checkSpans(keep, p.Duration)
	if err != nil {
		return Probe{}, nil, nil, err
	}
	if !p.HasVideo || p.StartTime != 0 || p.VFR {
		return p, spans, nil, nil
	}
	var b strings.Builder
	for _, pk := range fo.Packets {
		if pk.StreamIndex == p.vIdx {
			fmt.Fprintf(&b, "%s,%s,%s\n", pk.PTS, pk.DTS, pk.Flags)
		}
	}
	runs, step := windowRuns([]byte(b.String()), p.tbNum, p.tbDen, 0)
	// No packet reaches a window's end past the end of the file: ffprobe
	// then read to the end.
	return p, spans, &windowScan{runs, step, ws[0].Start == 0, ws[len(ws)-1].End >= p.Duration}, nil
}

// probeWindows probes path and lists its video packets around the cut
// points of keep in the same ffprobe run. The snapped segments come back
// with ok true when the windows prove them (see windowSnap); otherwise the
// caller scans (spans are checked and clamped here, errors are checkSpans').
func probeWindows(ctx context.Context, path string, keep []Span) (Probe, []Span, []copySeg, []Span, bool, error) {
	p, spans, w, err := probeWindowRuns(ctx, path, keep)
	if err != nil || w == nil {
		return p, spans, nil, nil, false, err
	}
	segs, actual, ok := w.snap(spans)
	return p, spans, segs, actual, ok, nil
}

// scanWindows runs windowArgs for spans and snaps them (ok false when the
// windows do not prove the answer).
func scanWindows(ctx context.Context, path string, p Probe, spans []Span) ([]copySeg, []Span, bool, error) {
	ws := cutWindows(spans, p.Duration)
	out, err := runFFprobe(ctx, windowArgs(path, p.vIdx, ws, p.StartTime))
	if err != nil {
		return nil, nil, false, fmt.Errorf("media: scan keyframes of %s: %w", filepath.Base(path), err)
	}
	runs, step := windowRuns(out, p.tbNum, p.tbDen, p.StartTime)
	segs, actual, ok := windowSnap(runs, step, spans, ws[0].Start == 0, ws[len(ws)-1].End == 0)
	return segs, actual, ok, nil
}

// packets merges the runs into one list of the windows' packets for the smart cut's plan
// (frameRanges, planPieces, actualSpans), and says whether that plan is the one the whole
// file's packets give. Frame indexes then count listed frames only, with gaps between the
// windows, so the plan may only look where every frame is listed: in a run from its first
// keyframe to its last (closed GOPs: what is shown between two keyframes is decoded between
// them), from the start of the file in a run that starts it, to the end in one that reaches
// it. Each span's start and end must lie in such a stretch: then the frames from the start
// to the keyframe after it (a head) and from the keyframe before the end to the end (a tail)
// are all listed, with those keyframes and their decode times. Copied pieces' frame counts
// are not right (they cross the gaps): the caller reads copied GOPs in place, by time.
func (w windowScan) packets(spans []Span) (packets, bool) {
	type stretch struct{ lo, hi time.Duration }
	var proven []stretch
	var keys []pkt
	var pk packets
	for ri, r := range w.runs {
		if r.openGOP {
			return packets{}, false // the full scan decides (and falls back)
		}
		pk.pts = append(pk.pts, r.pts...)
		pk.dts = append(pk.dts, r.dts...)
		for i := range r.keys {
			keys = append(keys, pkt{pts: r.keys[i], dts: r.keyDTS[i], key: true})
		}
		if len(r.keys) == 0 {
			continue
		}
		st := stretch{r.keys[0], r.keys[len(r.keys)-1]}
		if w.fromStart && ri == 0 {
			st.lo = math.MinInt64
		}
		if w.toEOF && ri == len(w.runs)-1 {
			st.hi = math.MaxInt64
		}
		proven = append(proven, st)
	}
	listed := func(t time.Duration) bool {
		for _, st := range proven {
			if st.lo <= t && t <= st.hi {
				return true
			}
		}
		return false
	}
	for _, s := range spans {
		// frameRanges' search points.
		if !listed(s.Start-snapSlack) || !listed(s.End-snapSlack) {
			return packets{}, false
		}
	}
	// Windows that overlap (a GOP longer than the gap between them) list some packets twice.
	pk.pts, pk.dts = byPTS(pk.pts, pk.dts)
	pk.setKeys(keys)
	return pk, true
}
