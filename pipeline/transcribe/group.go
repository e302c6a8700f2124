package transcribe

import (
	"strings"
	"time"

	"github.com/asticode/go-astisub"
)

// Word is one recognised word with its timing in the audio.
type Word struct {
	Text       string
	Start, End time.Duration
}

// Limits shape the cues GroupWords makes. The zero value means DefaultLimits.
type Limits struct {
	MaxLines     int           // lines per cue
	MaxLineChars int           // characters per line
	MinDuration  time.Duration // a shorter cue is held on screen longer, up to the next cue
	MaxDuration  time.Duration // a cue never lasts longer
	MaxGap       time.Duration // a pause this long between words starts a new cue
}

// DefaultLimits are the usual readability rules for subtitles: at most 2 lines of 42 characters,
// on screen for 1 to 7 seconds; a pause of a second or more is the end of a phrase.
var DefaultLimits = Limits{MaxLines: 2, MaxLineChars: 42, MinDuration: time.Second, MaxDuration: 7 * time.Second, MaxGap: time.Second}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxLines > 0 {
		d.MaxLines = l.MaxLines
	}
	if l.MaxLineChars > 0 {
		d.MaxLineChars = l.MaxLineChars
	}
	if l.MinDuration > 0 {
		d.MinDuration = l.MinDuration
	}
	if l.MaxDuration > 0 {
		d.MaxDuration = l.MaxDuration
	}
	if l.MaxGap > 0 {
		d.MaxGap = l.MaxGap
	}
	return d
}

// wrap fills lines greedily up to max characters (runes); a word longer than a line gets a line
// of its own.
func wrap(words []string, max int) []string {
	var lines []string
	cur := ""
	for _, w := range words {
		switch {
		case cur == "":
			cur = w
		case len([]rune(cur))+1+len([]rune(w)) <= max:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// GroupWords turns timed words into readable cues. Words are taken in order; a cue ends before a
// word that would not fit in lim.MaxLines lines of lim.MaxLineChars, that would make it last
// longer than lim.MaxDuration, or that follows a pause of lim.MaxGap. A cue runs from its first
// word's start to its last word's end, held to lim.MinDuration when the next cue leaves room, and
// cut to lim.MaxDuration (a single word can be that long). Cues never overlap.
func GroupWords(words []Word, lim Limits) *astisub.Subtitles {
	lim = lim.withDefaults()
	type group struct {
		words      []string
		start, end time.Duration
	}
	var groups []group
	var g group
	flush := func() {
		if len(g.words) > 0 {
			groups = append(groups, g)
		}
		g = group{}
	}
	for _, w := range words {
		text := strings.Join(strings.Fields(w.Text), " ")
		if text == "" || w.End < w.Start {
			continue
		}
		if len(g.words) > 0 {
			fits := len(wrap(append(g.words[:len(g.words):len(g.words)], text), lim.MaxLineChars)) <= lim.MaxLines
			if !fits || w.End-g.start > lim.MaxDuration || w.Start-g.end >= lim.MaxGap {
				flush()
			}
		}
		if len(g.words) == 0 {
			g.start = w.Start
		}
		g.words = append(g.words, text)
		g.end = max(g.end, w.End)
	}
	flush()

	subs := astisub.NewSubtitles()
	for i, g := range groups {
		end := min(g.end, g.start+lim.MaxDuration)
		if end-g.start < lim.MinDuration {
			end = g.start + lim.MinDuration
		}
		if i+1 < len(groups) {
			end = min(end, groups[i+1].start)
		}
		if end <= g.start {
			end = g.start + time.Millisecond
		}
		it := &astisub.Item{Index: i + 1, StartAt: g.start, EndAt: end}
		for _, l := range wrap(g.words, lim.MaxLineChars) {
			it.Lines = append(it.Lines, astisub.Line{Items: []astisub.LineItem{{Text: l}}})
		}
		subs.Items = append(subs.Items, it)
	}
	return subs
}
