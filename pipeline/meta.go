package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/language"

	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/pipeline/subtitle"
)

// CutMode says how the kept ranges are cut out of the source (see pipeline/media).
type CutMode string

const (
	CutFast     CutMode = "fast"     // stream copy, cuts snap to keyframes
	CutAccurate CutMode = "accurate" // smart cut: frame-exact, re-encodes only the GOPs at the cuts
	CutReencode CutMode = "reencode" // full transcode
)

// Publication says what happens to the replay once it is ready.
type Publication string

const (
	PublishDraft    Publication = "draft"     // the animator publishes it later
	PublishReady    Publication = "published" // published as soon as it is ready
	PublishUnlisted Publication = "unlisted"  // reachable by its link (never listed) once ready
)

// Span is a time range [Start, End) of a recording.
type Span struct {
	Start time.Duration `json:"-"`
	End   time.Duration `json:"-"`
}

func (s Span) Len() time.Duration { return s.End - s.Start }

func (s Span) String() string { return FormatTimecode(s.Start) + "–" + FormatTimecode(s.End) }

// MarshalJSON writes a span as the pair of timecodes the API takes: ["00:01:10", "00:25:00"].
func (s Span) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]string{FormatTimecode(s.Start), FormatTimecode(s.End)})
}

// UnmarshalJSON reads the pair of timecodes MarshalJSON writes.
func (s *Span) UnmarshalJSON(b []byte) error {
	var pair [2]Timecode
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	var err error
	if s.Start, err = ParseTimecode(string(pair[0])); err != nil {
		return err
	}
	s.End, err = ParseTimecode(string(pair[1]))
	return err
}

// Timecode is a time as the client wrote it: a string ("00:01:10.5") or a JSON number of
// seconds. It is kept as text and parsed during validation, where the error can name its field.
type Timecode string

func (t *Timecode) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Timecode(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("a timecode is a string like \"00:01:10.5\" or a number of seconds")
	}
	*t = Timecode(n.String())
	return nil
}

// Meta is the `meta` part of an upload, as the client sent it.
type Meta struct {
	Title       string        `json:"title"`
	Description string        `json:"description,omitempty"`
	Language    string        `json:"language"`
	WorkshopID  string        `json:"workshop_id,omitempty"`
	Documents   []Tag         `json:"documents,omitempty"`
	Edits       *Edits        `json:"edits,omitempty"`
	Chapters    []MetaChapter `json:"chapters,omitempty"`
	Cut         CutMode       `json:"cut,omitempty"`
	Publication Publication   `json:"publication,omitempty"`
	Loudnorm    bool          `json:"loudnorm,omitempty"`
	// BurnIn asks for an extra MP4 with the subtitles of this language burnt into the picture,
	// for platforms that cannot show subtitle tracks: replays/{id}/burnin/{lang}.mp4. The upload
	// must carry a subtitles file of that language.
	BurnIn string `json:"burn_in,omitempty"`
}

// Edits says what to keep of the source: either the ranges to keep or the ranges to remove.
type Edits struct {
	Keep   [][]Timecode `json:"keep,omitempty"`
	Remove [][]Timecode `json:"remove,omitempty"`
}

// MetaChapter is a chapter as the client gives it: its start in SOURCE time.
type MetaChapter struct {
	Start     Timecode `json:"start"`
	Title     string   `json:"title"`
	Documents []Tag    `json:"documents,omitempty"`
}

// Chapter is a validated chapter, its start in source time.
type Chapter struct {
	Start     time.Duration
	Title     string
	Documents []Tag
}

// Plan is a validated Meta: what the job will do. Ranges are sorted; Keep or Remove is set.
type Plan struct {
	Title, Description, Language, WorkshopID string
	Documents                                []Tag
	// Keep or Remove (exactly one is non-nil when the client sent edits; both nil keeps all).
	Keep, Remove []Span
	// order maps a sorted range back to its index in the client's list, for messages.
	keepIdx, removeIdx []int
	Chapters           []Chapter
	chapterIdx         []int
	Cut                CutMode
	Publication        Publication
	Loudnorm           bool
	BurnIn             string // canonical language tag, or ""
}

const (
	maxTitle    = 300
	maxDesc     = 20_000
	maxRanges   = 500
	maxChapters = 500
)

// ParseMeta decodes and validates the `meta` JSON strictly (unknown fields are errors). Checks
// that need the recording's duration are left to Plan.Resolve, and document tags to the catalog.
func ParseMeta(b []byte) (Plan, error) {
	var m Meta
	if err := httpapi.DecodeJSONReader(bytes.NewReader(b), &m); err != nil {
		return Plan{}, prefixField("meta", err)
	}
	return m.Validate()
}

// prefixField keeps a decode error's field as is (fields are paths inside meta) but says
// where a field-less error came from.
func prefixField(part string, err error) error {
	if inv, ok := err.(*httpapi.InvalidError); ok && inv.Field == "" {
		return httpapi.Invalid(part, "%s", inv.Message)
	}
	return err
}

// Validate checks everything that does not need the recording itself.
func (m *Meta) Validate() (Plan, error) {
	p := Plan{
		Title: strings.TrimSpace(m.Title), Description: strings.TrimSpace(m.Description),
		WorkshopID: strings.TrimSpace(m.WorkshopID), Documents: m.Documents, Loudnorm: m.Loudnorm,
	}
	switch {
	case p.Title == "":
		return p, httpapi.Invalid("title", "a title is required")
	case utf8.RuneCountInString(p.Title) > maxTitle:
		return p, httpapi.Invalid("title", "the title is longer than %d characters", maxTitle)
	case utf8.RuneCountInString(p.Description) > maxDesc:
		return p, httpapi.Invalid("description", "the description is longer than %d characters", maxDesc)
	}
	if m.Language == "" {
		return p, httpapi.Invalid("language", `the spoken language is required, e.g. "fr"`)
	}
	tag, err := language.Parse(m.Language)
	if err != nil {
		return p, httpapi.Invalid("language", "%q is not a language tag; use e.g. \"fr\" or \"pt-BR\"", m.Language)
	}
	p.Language = tag.String()

	if m.BurnIn != "" {
		if p.BurnIn, err = subtitle.CanonicalLang(m.BurnIn); err != nil {
			return p, httpapi.Invalid("burn_in", "%q is not a language tag: name the subtitle language to burn in, e.g. \"fr\"", m.BurnIn)
		}
	}

	switch m.Cut {
	case "":
		p.Cut = CutAccurate
	case CutFast, CutAccurate, CutReencode:
		p.Cut = m.Cut
	default:
		return p, httpapi.Invalid("cut", "unknown cut mode %q: use fast, accurate or reencode", m.Cut)
	}
	switch m.Publication {
	case "":
		p.Publication = PublishDraft
	case PublishDraft, PublishReady, PublishUnlisted:
		p.Publication = m.Publication
	default:
		return p, httpapi.Invalid("publication", "unknown publication %q: use draft, published or unlisted", m.Publication)
	}

	if m.Edits != nil {
		switch {
		case m.Edits.Keep != nil && m.Edits.Remove != nil:
			return p, httpapi.Invalid("edits", "give either keep or remove, not both")
		case m.Edits.Keep != nil:
			if p.Keep, p.keepIdx, err = parseRanges("edits.keep", m.Edits.Keep); err != nil {
				return p, err
			}
		case m.Edits.Remove != nil:
			if p.Remove, p.removeIdx, err = parseRanges("edits.remove", m.Edits.Remove); err != nil {
				return p, err
			}
		default:
			return p, httpapi.Invalid("edits", "give keep or remove: a list of [start, end] ranges")
		}
	}

	if len(m.Chapters) > maxChapters {
		return p, httpapi.Invalid("chapters", "more than %d chapters", maxChapters)
	}
	for i, c := range m.Chapters {
		field := fmt.Sprintf("chapters[%d]", i)
		title := strings.TrimSpace(c.Title)
		if title == "" {
			return p, httpapi.Invalid(field+".title", "chapter %d has no title", i+1)
		}
		if utf8.RuneCountInString(title) > maxTitle {
			return p, httpapi.Invalid(field+".title", "the title of chapter %d is longer than %d characters", i+1, maxTitle)
		}
		start, err := ParseTimecode(string(c.Start))
		if err != nil {
			return p, httpapi.Invalid(field+".start", "chapter %d: %v", i+1, err)
		}
		p.Chapters = append(p.Chapters, Chapter{Start: start, Title: title, Documents: c.Documents})
		p.chapterIdx = append(p.chapterIdx, i)
	}
	sortWithIndex(p.Chapters, p.chapterIdx, func(c Chapter) time.Duration { return c.Start })
	for i := 1; i < len(p.Chapters); i++ {
		if p.Chapters[i].Start == p.Chapters[i-1].Start {
			return p, httpapi.Invalid(fmt.Sprintf("chapters[%d].start", p.chapterIdx[i]),
				"chapters %d and %d both start at %s", p.chapterIdx[i-1]+1, p.chapterIdx[i]+1, FormatTimecode(p.Chapters[i].Start))
		}
	}
	return p, nil
}

// parseRanges parses [start, end] pairs, each non-empty, sorts them and refuses overlaps.
// It returns the sorted spans and, for each, its index in the client's list.
func parseRanges(field string, raw [][]Timecode) ([]Span, []int, error) {
	if len(raw) == 0 {
		return nil, nil, httpapi.Invalid(field, "the list of ranges is empty")
	}
	if len(raw) > maxRanges {
		return nil, nil, httpapi.Invalid(field, "more than %d ranges", maxRanges)
	}
	spans := make([]Span, len(raw))
	idx := make([]int, len(raw))
	for i, r := range raw {
		f := fmt.Sprintf("%s[%d]", field, i)
		if len(r) != 2 {
			return nil, nil, httpapi.Invalid(f, "range %d must be a pair [start, end], got %d values", i+1, len(r))
		}
		var err error
		for j, tc := range r {
			var d time.Duration
			if d, err = ParseTimecode(string(tc)); err != nil {
				return nil, nil, httpapi.Invalid(fmt.Sprintf("%s[%d]", f, j), "range %d: %v", i+1, err)
			}
			if j == 0 {
				spans[i].Start = d
			} else {
				spans[i].End = d
			}
		}
		if spans[i].End <= spans[i].Start {
			return nil, nil, httpapi.Invalid(f, "range %d is empty: it ends at %s, not after its start %s",
				i+1, FormatTimecode(spans[i].End), FormatTimecode(spans[i].Start))
		}
		idx[i] = i
	}
	sortWithIndex(spans, idx, func(s Span) time.Duration { return s.Start })
	for i := 1; i < len(spans); i++ {
		if spans[i].Start < spans[i-1].End {
			return nil, nil, httpapi.Invalid(fmt.Sprintf("%s[%d]", field, idx[i]), "ranges %d (%s) and %d (%s) overlap",
				idx[i-1]+1, spans[i-1], idx[i]+1, spans[i])
		}
	}
	return spans, idx, nil
}

// sortWithIndex sorts xs by key, stably, permuting idx alongside.
func sortWithIndex[T any](xs []T, idx []int, key func(T) time.Duration) {
	type pair struct {
		x T
		i int
	}
	ps := make([]pair, len(xs))
	for i := range xs {
		ps[i] = pair{xs[i], idx[i]}
	}
	slices.SortStableFunc(ps, func(a, b pair) int {
		ka, kb := key(a.x), key(b.x)
		switch {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	for i := range ps {
		xs[i], idx[i] = ps[i].x, ps[i].i
	}
}

// endSlack is how far past the probed duration a range may end and still be taken as "to the
// end": containers round their duration, and a person types the end they saw in a player.
const endSlack = 50 * time.Millisecond

// Resolve checks the plan against the recording's duration and returns the spans to keep, in
// source time: the kept ranges, or the complement of the removed ones. Chapters must start in
// kept material.
func (p *Plan) Resolve(duration time.Duration) ([]Span, error) {
	if duration <= 0 {
		return nil, httpapi.Invalid("source", "the recording has no duration")
	}
	check := func(field string, spans []Span, idx []int) ([]Span, error) {
		out := slices.Clone(spans)
		for i, s := range out {
			if s.End > duration+endSlack {
				return nil, httpapi.Invalid(fmt.Sprintf("%s[%d]", field, idx[i]), "cut past the end: range %d ends at %s but the recording lasts %s",
					idx[i]+1, FormatTimecode(s.End), FormatTimecode(duration))
			}
			if s.Start >= duration { // a range within the slack after the end
				return nil, httpapi.Invalid(fmt.Sprintf("%s[%d]", field, idx[i]), "cut past the end: range %d starts at %s but the recording lasts %s",
					idx[i]+1, FormatTimecode(s.Start), FormatTimecode(duration))
			}
			out[i].End = min(s.End, duration)
		}
		return out, nil
	}
	var keep []Span
	switch {
	case p.Keep != nil:
		var err error
		if keep, err = check("edits.keep", p.Keep, p.keepIdx); err != nil {
			return nil, err
		}
	case p.Remove != nil:
		removed, err := check("edits.remove", p.Remove, p.removeIdx)
		if err != nil {
			return nil, err
		}
		keep = Complement(removed, duration)
		if len(keep) == 0 {
			return nil, httpapi.Invalid("edits.remove", "the ranges remove the whole recording")
		}
	default:
		keep = []Span{{0, duration}}
	}
	for i, c := range p.Chapters {
		if _, ok := ToReplayTime(keep, c.Start); !ok {
			return nil, httpapi.Invalid(fmt.Sprintf("chapters[%d].start", p.chapterIdx[i]),
				"chapter %d starts at %s, outside the kept material (%s)", p.chapterIdx[i]+1, FormatTimecode(c.Start), spansText(keep))
		}
	}
	return keep, nil
}

func spansText(spans []Span) string {
	var b strings.Builder
	for i, s := range spans {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == 4 && len(spans) > 5 {
			fmt.Fprintf(&b, "… %d more", len(spans)-4)
			break
		}
		b.WriteString(s.String())
	}
	return b.String()
}

// Complement returns the parts of [0, duration) that sorted, non-overlapping spans do not cover.
func Complement(spans []Span, duration time.Duration) []Span {
	var out []Span
	at := time.Duration(0)
	for _, s := range spans {
		if s.Start > at {
			out = append(out, Span{at, s.Start})
		}
		at = max(at, s.End)
	}
	if at < duration {
		out = append(out, Span{at, duration})
	}
	return out
}

// ToReplayTime maps a source time onto the replay made of the kept spans (sorted,
// non-overlapping): the length of the spans before t's span plus t's offset in it. ok is false
// when t lies in removed material.
func ToReplayTime(kept []Span, t time.Duration) (time.Duration, bool) {
	var before time.Duration
	for _, s := range kept {
		if t >= s.Start && t < s.End {
			return before + t - s.Start, true
		}
		before += s.Len()
	}
	return 0, false
}

// ReplayChapters maps chapters from source time onto the replay. A chapter that the actual cut
// points (which may differ from the requested ones after a keyframe cut) leave outside the kept
// material starts at the next kept span instead; chapters pushed onto one start keep the first.
func ReplayChapters(kept []Span, chapters []Chapter) []Chapter {
	var out []Chapter
	for _, c := range chapters {
		t, ok := ToReplayTime(kept, c.Start)
		if !ok {
			var before time.Duration
			placed := false
			for _, s := range kept {
				if c.Start < s.Start {
					t, placed = before, true
					break
				}
				before += s.Len()
			}
			if !placed {
				continue // after the end of the replay
			}
		}
		if n := len(out); n > 0 && out[n-1].Start >= t {
			continue
		}
		out = append(out, Chapter{Start: t, Title: c.Title, Documents: c.Documents})
	}
	return out
}
