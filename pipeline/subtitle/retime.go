package subtitle

import (
	"cmp"
	"codeberg.org/atelier/atelier/pipeline/media"
	"slices"
	"time"

	"github.com/asticode/go-astisub"
)

// MinClippedCue is the shortest remnant of a clipped cue that Retime keeps: a cue cut down to
// less than this would flash on screen for too short a time to be read.
const MinClippedCue = 100 * time.Millisecond

// NormalizeSpans sorts spans, drops empty ones, clamps negative starts to 0, and merges spans
// that overlap or touch.
func NormalizeSpans(keep []media.Span) []media.Span {
	out := make([]media.Span, 0, len(keep))
	for _, s := range keep {
		s.Start = max(s.Start, 0)
		if s.End > s.Start {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b media.Span) int { return cmp.Compare(a.Start, b.Start) })
	merged := out[:0]
	for _, s := range out {
		if n := len(merged); n > 0 && s.Start <= merged[n-1].End {
			merged[n-1].End = max(merged[n-1].End, s.End)
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// KeptDuration is the length of the replay made of keep.
func KeptDuration(keep []media.Span) time.Duration {
	var d time.Duration
	for _, s := range NormalizeSpans(keep) {
		d += s.End - s.Start
	}
	return d
}

// Retime maps cues timed on the source recording onto the replay made of the kept spans (source
// time ranges, in any order; they are normalised first). It returns new subtitles and leaves subs
// untouched; styles, regions, text and positions are shared or copied as they are.
//
//   - A cue wholly inside removed material is dropped.
//   - A cue that straddles a cut is clipped to its kept part; a clipped remnant shorter than
//     MinClippedCue is dropped.
//   - Every cue is shifted back by the removed time before it.
//   - A cue split by a removed middle range stays ONE cue, from the start of its first kept part
//     to the end of its last. Why: in the replay the kept parts are back to back (what was
//     between them is gone), so the single cue covers exactly the kept material and nothing
//     else; two cues would be the same text ending and restarting at the same instant, which
//     players render as a flicker, and it would count one spoken line twice.
//   - Inline timestamps (WebVTT karaoke "<00:00:01.000>") are mapped too, and dropped when they
//     fall in removed material.
//
// An empty keep means "no edit": the cues are returned unchanged (copied). To also clip cues that
// run past the end of the recording, pass keep = [{0, duration}].
func Retime(subs *astisub.Subtitles, keep []media.Span) *astisub.Subtitles {
	out := astisub.NewSubtitles()
	if subs == nil {
		return out
	}
	out.Metadata, out.Regions, out.Styles = subs.Metadata, subs.Regions, subs.Styles
	spans := NormalizeSpans(keep)
	if len(keep) == 0 {
		for _, it := range subs.Items {
			out.Items = append(out.Items, copyItem(it))
		}
		return out
	}
	// offsets[i] is where spans[i] starts in the replay.
	offsets := make([]time.Duration, len(spans))
	var total time.Duration
	for i, s := range spans {
		offsets[i] = total
		total += s.End - s.Start
	}
	toReplay := func(t time.Duration) (time.Duration, bool) {
		i, found := slices.BinarySearchFunc(spans, t, func(s media.Span, t time.Duration) int {
			switch {
			case s.End <= t:
				return -1
			case s.Start > t:
				return 1
			}
			return 0
		})
		if !found {
			return 0, false
		}
		return offsets[i] + t - spans[i].Start, true
	}
	for _, it := range subs.Items {
		if it.EndAt <= it.StartAt {
			continue
		}
		var start, end time.Duration
		var kept time.Duration
		first := true
		for i, s := range spans {
			if s.End <= it.StartAt {
				continue
			}
			if s.Start >= it.EndAt {
				break
			}
			cs, ce := max(it.StartAt, s.Start), min(it.EndAt, s.End)
			if first {
				start = offsets[i] + cs - s.Start
				first = false
			}
			end = offsets[i] + ce - s.Start
			kept += ce - cs
		}
		if first || end <= start {
			continue // wholly removed
		}
		if kept < it.EndAt-it.StartAt && kept < MinClippedCue {
			continue // an unreadable remnant
		}
		cp := copyItem(it)
		cp.StartAt, cp.EndAt = start, end
		for li := range cp.Lines {
			for xi := range cp.Lines[li].Items {
				x := &cp.Lines[li].Items[xi]
				if x.StartAt == 0 {
					continue
				}
				if t, ok := toReplay(x.StartAt); ok && t > start && t < end {
					x.StartAt = t
				} else {
					x.StartAt = 0
				}
			}
		}
		out.Items = append(out.Items, cp)
	}
	out.Order()
	return out
}

// copyItem copies an item deeply enough that changing its times and line items does not touch
// the original.
func copyItem(it *astisub.Item) *astisub.Item {
	cp := *it
	cp.Lines = make([]astisub.Line, len(it.Lines))
	for i, l := range it.Lines {
		cp.Lines[i] = astisub.Line{VoiceName: l.VoiceName, Items: slices.Clone(l.Items)}
	}
	cp.Comments = slices.Clone(it.Comments)
	return &cp
}

// ToSource maps cues timed on the replay made of keep back onto the source: the inverse of
// Retime. A cue start maps into the kept span it falls in, a cue end into the span it closes, so
// a cue across a join covers the removed material between and Retime gives it back unchanged.
// Times past the end of the replay map to the end of the last span. An empty keep means no edit.
func ToSource(subs *astisub.Subtitles, keep []media.Span) *astisub.Subtitles {
	out := astisub.NewSubtitles()
	if subs == nil {
		return out
	}
	out.Metadata, out.Regions, out.Styles = subs.Metadata, subs.Regions, subs.Styles
	spans := NormalizeSpans(keep)
	// at maps replay time t; closing picks the earlier span when t is on a join.
	at := func(t time.Duration, closing bool) time.Duration {
		if len(spans) == 0 {
			return t
		}
		var off time.Duration
		for _, s := range spans {
			l := s.End - s.Start
			if t < off+l || (closing && t == off+l) {
				return s.Start + max(t-off, 0)
			}
			off += l
		}
		return spans[len(spans)-1].End
	}
	for _, it := range subs.Items {
		cp := copyItem(it)
		cp.StartAt, cp.EndAt = at(it.StartAt, false), at(it.EndAt, true)
		if cp.EndAt <= cp.StartAt {
			continue
		}
		for li := range cp.Lines {
			for xi := range cp.Lines[li].Items {
				if x := &cp.Lines[li].Items[xi]; x.StartAt != 0 {
					x.StartAt = at(x.StartAt, false)
				}
			}
		}
		out.Items = append(out.Items, cp)
	}
	return out
}
