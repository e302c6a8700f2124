package pipeline

import (
	"bytes"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/pipeline/media"
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

// Publication says what happens to the replay once it is ready.
type Publication string

const (
	PublishDraft    Publication = "draft"     // the animator publishes it later
	PublishReady    Publication = "published" // published as soon as it is ready
	PublishUnlisted Publication = "unlisted"  // reachable by its link (never listed) once ready
)

// TimecodeSpans is how the API writes spans: pairs of timecodes, [["00:01:10", "00:25:00"]].
type TimecodeSpans []media.Span

// MarshalJSON writes each span as the pair of timecodes the API takes.
func (ts TimecodeSpans) MarshalJSON() ([]byte, error) {
	out := make([][2]string, len(ts))
	for i, s := range ts {
		out[i] = [2]string{FormatTimecode(s.Start), FormatTimecode(s.End)}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads the pairs MarshalJSON writes.
func (ts *TimecodeSpans) UnmarshalJSON(b []byte) error {
	var pairs [][2]Timecode
	if err := json.Unmarshal(b, &pairs); err != nil {
		return err
	}
	*ts = make(TimecodeSpans, len(pairs))
	for i, p := range pairs {
		var err error
		if (*ts)[i].Start, err = ParseTimecode(string(p[0])); err != nil {
			return err
		}
		if (*ts)[i].End, err = ParseTimecode(string(p[1])); err != nil {
			return err
		}
	}
	return nil
}

// spanText writes a span for a person: "00:01:10–00:25:00".
func spanText(s media.Span) string { return FormatTimecode(s.Start) + "–" + FormatTimecode(s.End) }

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
	Documents   []catalog.Tag `json:"documents,omitempty"`
	Edits       *Edits        `json:"edits,omitempty"`
	Chapters    []MetaChapter `json:"chapters,omitempty"`
	Cut         media.CutMode `json:"cut,omitempty"`
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
	Start     Timecode      `json:"start"`
	Title     string        `json:"title"`
	Documents []catalog.Tag `json:"documents,omitempty"`
}

// Chapter is a chapter of a plan: its start and title (in source time in a plan, in replay time
// once mapped by ReplayChapters) and the software versions it documents.
type Chapter struct {
	media.Chapter
	Documents []catalog.Tag `json:"documents"`
}

// Plan is what the job does with a recording. The upload resolves it once (meta validated,
// source stored and probed, ranges checked against its duration) and stores it with the
// recording; the job reads it and nothing else: it never parses, probes or resolves again. A
// re-cut replaces the stored plan and runs the job again; a worker on another machine needs only
// the plan and the source in storage.
type Plan struct {
	Title       string        `json:"title"`
	Description string        `json:"description,omitempty"`
	Language    string        `json:"language"`
	WorkshopID  string        `json:"workshop_id,omitempty"`
	Documents   []catalog.Tag `json:"documents"`
	// Spans are the source ranges to keep, sorted, not overlapping, within the source.
	Spans []media.Span `json:"spans"`
	// Chapters start in source time, in kept material, sorted.
	Chapters    []Chapter     `json:"chapters"`
	Cut         media.CutMode `json:"cut"`
	Publication Publication   `json:"publication"`
	Loudnorm    bool          `json:"loudnorm,omitempty"`
	BurnIn      string        `json:"burn_in,omitempty"` // canonical language tag, or ""
	// SourceFrameRate is the probed average frame rate of the source, kept for the cut editor's
	// frame snapping; it does not change the render.
	SourceFrameRate float64 `json:"source_frame_rate,omitempty"`
}

// Request is a validated Meta, before it meets the source: Resolve turns it into the Plan.
type Request struct {
	Plan // Spans are empty until Resolve
	// keep or remove (exactly one is non-nil when the client sent edits; both nil keeps all),
	// sorted; the idx slices map each back to its index in the client's list, for messages.
	keep, remove                   []media.Span
	keepIdx, removeIdx, chapterIdx []int
}

const (
	maxTitle    = 300
	maxDesc     = 20_000
	maxRanges   = 500
	maxChapters = 500
)

// ParseMeta decodes and validates the `meta` JSON strictly (unknown fields are errors). Checks
// that need the recording's duration are left to Request.Resolve, and document tags to the
// catalog.
func ParseMeta(b []byte) (Request, error) {
	var m Meta
	if err := httpapi.DecodeJSONReader(bytes.NewReader(b), &m); err != nil {
		return Request{}, prefixField("meta", err)
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
func (m *Meta) Validate() (Request, error) {
	r := Request{Plan: Plan{
		Title: strings.TrimSpace(m.Title), Description: strings.TrimSpace(m.Description),
		WorkshopID: strings.TrimSpace(m.WorkshopID), Documents: nonNil(m.Documents), Loudnorm: m.Loudnorm,
	}}
	if err := m.validateText(&r.Plan); err != nil {
		return r, err
	}
	if err := m.validateModes(&r.Plan); err != nil {
		return r, err
	}
	if err := m.validateEdits(&r); err != nil {
		return r, err
	}
	return r, m.validateChapters(&r)
}

// validateText checks the title, description and languages.
func (m *Meta) validateText(p *Plan) error {
	switch {
	case p.Title == "":
		return httpapi.Invalid("title", "a title is required")
	case utf8.RuneCountInString(p.Title) > maxTitle:
		return httpapi.Invalid("title", "the title is longer than %d characters", maxTitle)
	case utf8.RuneCountInString(p.Description) > maxDesc:
		return httpapi.Invalid("description", "the description is longer than %d characters", maxDesc)
	}
	if m.Language == "" {
		return httpapi.Invalid("language", `the spoken language is required, e.g. "fr"`)
	}
	tag, err := language.Parse(m.Language)
	if err != nil {
		return httpapi.Invalid("language", "%q is not a language tag; use e.g. \"fr\" or \"pt-BR\"", m.Language)
	}
	p.Language = tag.String()
	if m.BurnIn != "" {
		if p.BurnIn, err = subtitle.CanonicalLang(m.BurnIn); err != nil {
			return httpapi.Invalid("burn_in", "%q is not a language tag: name the subtitle language to burn in, e.g. \"fr\"", m.BurnIn)
		}
	}
	return nil
}

// validateModes checks the cut mode and the publication, and fills in their defaults.
func (m *Meta) validateModes(p *Plan) error {
	switch m.Cut {
	case "":
		p.Cut = media.CutAccurate
	case media.CutFast, media.CutAccurate, media.CutReencode:
		p.Cut = m.Cut
	default:
		return httpapi.Invalid("cut", "unknown cut mode %q: use fast, accurate or reencode", m.Cut)
	}
	switch m.Publication {
	case "":
		p.Publication = PublishDraft
	case PublishDraft, PublishReady, PublishUnlisted:
		p.Publication = m.Publication
	default:
		return httpapi.Invalid("publication", "unknown publication %q: use draft, published or unlisted", m.Publication)
	}
	return nil
}

// validateEdits parses the ranges to keep or to remove.
func (m *Meta) validateEdits(r *Request) error {
	if m.Edits == nil {
		return nil
	}
	var err error
	switch {
	case m.Edits.Keep != nil && m.Edits.Remove != nil:
		return httpapi.Invalid("edits", "give either keep or remove, not both")
	case m.Edits.Keep != nil:
		r.keep, r.keepIdx, err = parseRanges("edits.keep", m.Edits.Keep)
	case m.Edits.Remove != nil:
		r.remove, r.removeIdx, err = parseRanges("edits.remove", m.Edits.Remove)
	default:
		return httpapi.Invalid("edits", "give keep or remove: a list of [start, end] ranges")
	}
	return err
}

// validateChapters parses the chapters, sorts them and refuses two at the same start.
func (m *Meta) validateChapters(r *Request) error {
	if len(m.Chapters) > maxChapters {
		return httpapi.Invalid("chapters", "more than %d chapters", maxChapters)
	}
	r.Chapters = []Chapter{}
	for i, c := range m.Chapters {
		field := fmt.Sprintf("chapters[%d]", i)
		title := strings.TrimSpace(c.Title)
		if title == "" {
			return httpapi.Invalid(field+".title", "chapter %d has no title", i+1)
		}
		if utf8.RuneCountInString(title) > maxTitle {
			return httpapi.Invalid(field+".title", "the title of chapter %d is longer than %d characters", i+1, maxTitle)
		}
		start, err := ParseTimecode(string(c.Start))
		if err != nil {
			return httpapi.Invalid(field+".start", "chapter %d: %v", i+1, err)
		}
		r.Chapters = append(r.Chapters, Chapter{Chapter: media.Chapter{Start: start, Title: title}, Documents: nonNil(c.Documents)})
		r.chapterIdx = append(r.chapterIdx, i)
	}
	sortWithIndex(r.Chapters, r.chapterIdx, func(c Chapter) time.Duration { return c.Start })
	for i := 1; i < len(r.Chapters); i++ {
		if r.Chapters[i].Start == r.Chapters[i-1].Start {
			return httpapi.Invalid(fmt.Sprintf("chapters[%d].start", r.chapterIdx[i]),
				"chapters %d and %d both start at %s", r.chapterIdx[i-1]+1, r.chapterIdx[i]+1, FormatTimecode(r.Chapters[i].Start))
		}
	}
	return nil
}

// parseRanges parses [start, end] pairs, each non-empty, sorts them and refuses overlaps.
// It returns the sorted spans and, for each, its index in the client's list.
func parseRanges(field string, raw [][]Timecode) ([]media.Span, []int, error) {
	if len(raw) == 0 {
		return nil, nil, httpapi.Invalid(field, "the list of ranges is empty")
	}
	if len(raw) > maxRanges {
		return nil, nil, httpapi.Invalid(field, "more than %d ranges", maxRanges)
	}
	spans := make([]media.Span, len(raw))
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
	sortWithIndex(spans, idx, func(s media.Span) time.Duration { return s.Start })
	for i := 1; i < len(spans); i++ {
		if spans[i].Start < spans[i-1].End {
			return nil, nil, httpapi.Invalid(fmt.Sprintf("%s[%d]", field, idx[i]), "ranges %d (%s) and %d (%s) overlap",
				idx[i-1]+1, spanText(spans[i-1]), idx[i]+1, spanText(spans[i]))
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

// Resolve checks the request against the recording's duration and returns the plan: the spans
// to keep, in source time, are the kept ranges or the complement of the removed ones. Chapters
// must start in kept material.
func (r *Request) Resolve(duration time.Duration) (Plan, error) {
	if duration <= 0 {
		return Plan{}, httpapi.Invalid("source", "the recording has no duration")
	}
	check := func(field string, spans []media.Span, idx []int) ([]media.Span, error) {
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
	var keep []media.Span
	switch {
	case r.keep != nil:
		var err error
		if keep, err = check("edits.keep", r.keep, r.keepIdx); err != nil {
			return Plan{}, err
		}
	case r.remove != nil:
		removed, err := check("edits.remove", r.remove, r.removeIdx)
		if err != nil {
			return Plan{}, err
		}
		keep = Complement(removed, duration)
		if len(keep) == 0 {
			return Plan{}, httpapi.Invalid("edits.remove", "the ranges remove the whole recording")
		}
	default:
		keep = []media.Span{{Start: 0, End: duration}}
	}
	for i, c := range r.Chapters {
		if _, ok := ToReplayTime(keep, c.Start); !ok {
			return Plan{}, httpapi.Invalid(fmt.Sprintf("chapters[%d].start", r.chapterIdx[i]),
				"chapter %d starts at %s, outside the kept material (%s)", r.chapterIdx[i]+1, FormatTimecode(c.Start), spansText(keep))
		}
	}
	p := r.Plan
	p.Spans = keep
	return p, nil
}

func spansText(spans []media.Span) string {
	var b strings.Builder
	for i, s := range spans {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == 4 && len(spans) > 5 {
			fmt.Fprintf(&b, "… %d more", len(spans)-4)
			break
		}
		b.WriteString(spanText(s))
	}
	return b.String()
}

// Complement returns the parts of [0, duration) that sorted, non-overlapping spans do not cover.
func Complement(spans []media.Span, duration time.Duration) []media.Span {
	var out []media.Span
	at := time.Duration(0)
	for _, s := range spans {
		if s.Start > at {
			out = append(out, media.Span{Start: at, End: s.Start})
		}
		at = max(at, s.End)
	}
	if at < duration {
		out = append(out, media.Span{Start: at, End: duration})
	}
	return out
}

// ToReplayTime maps a source time onto the replay made of the kept spans (sorted,
// non-overlapping): the length of the spans before t's span plus t's offset in it. ok is false
// when t lies in removed material.
func ToReplayTime(kept []media.Span, t time.Duration) (time.Duration, bool) {
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
func ReplayChapters(kept []media.Span, chapters []Chapter) []Chapter {
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
		c.Start = t
		out = append(out, c)
	}
	return out
}
