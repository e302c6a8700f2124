// Package subtitle reads subtitle files in the formats animators bring (SRT, WebVTT, SSA/ASS,
// TTML), re-times them through a recording's cuts, and writes the WebVTT tracks and HLS subtitle
// renditions that players show. Parsing and writing go through github.com/asticode/go-astisub;
// this package adds what an upload needs on top: charset detection, format sniffing, errors that
// name the line at fault, and a pure re-timing function.
//
// Tracks have a kind (manual, or auto for a transcriber's, corrected or not) and a status (draft
// or reviewed, with who reviewed it and when). Learners are offered a track once reviewed, or a
// draft an animator made visible (catalog.Track.Offered); Renditions and the web package's
// streams follow that rule. API serves the animators' routes (listed in cmd/atelier/routes.go):
// PUT a file, GET it back in source time, list, and PATCH the status or visibility without a new
// file.
package subtitle

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/asticode/go-astisub"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/language"
)

// Format is a subtitle file format.
type Format string

// The formats Parse reads.
const (
	FormatSRT    Format = "srt"
	FormatWebVTT Format = "vtt"
	FormatSSA    Format = "ssa" // SSA and ASS
	FormatTTML   Format = "ttml"
)

// ParseError is a subtitle file that cannot be read. Line (1-based, in the file as uploaded) and
// Cue (1-based, in file order) are 0 when unknown. Msg is safe to show the person who uploaded the
// file; the HTTP layer turns it into a 422.
type ParseError struct {
	Line int
	Cue  int
	Msg  string
}

func (e *ParseError) Error() string { return "subtitle: " + e.Where() }

// Where is the message with its position, without the package prefix: "line 12: ...".
func (e *ParseError) Where() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	case e.Cue > 0:
		return fmt.Sprintf("cue %d: %s", e.Cue, e.Msg)
	}
	return e.Msg
}

// MaxCueEnd bounds cue times: a timestamp beyond 100 hours is a typo, not a workshop.
const MaxCueEnd = 100 * time.Hour

// Parse reads a subtitle file. hint is the file name or the Content-Type it came with (either may
// be empty); the content itself wins when it carries an unmistakable signature (a WEBVTT header,
// an [Script Info] section, a <tt> root), so a mislabelled file still reads. Text that is not
// valid UTF-8 is taken as Windows-1252 (a superset of the Latin-1 letters that old SRT files use);
// a UTF-8 BOM is dropped and UTF-16 with a BOM is decoded.
//
// The result is ordered by start time, every cue has 0 <= start < end, there is at least one cue,
// and inline styles from SRT, SSA and TTML (italics, bold, underline) are also set as WebVTT tags so
// that WriteVTT keeps them. Any failure is a *ParseError. Parse is ParseWarn without the warnings.
func Parse(data []byte, hint string) (*astisub.Subtitles, error) {
	subs, _, err := ParseWarn(data, hint)
	return subs, err
}

// ParseWarn is Parse, and says what it skipped. WebVTT is read as browsers read it (see cleanVTT):
// a malformed block is skipped and reported in the warnings, not a reason to refuse the file,
// unless no cue is left. The other formats have no such rules; their warnings are always empty.
func ParseWarn(data []byte, hint string) (subs *astisub.Subtitles, warnings []Warning, err error) {
	text, err := decodeText(data)
	if err != nil {
		return nil, nil, err
	}
	format := detectFormat(text, hint)
	if format == "" {
		return nil, nil, &ParseError{Msg: "unknown subtitle format: expected SRT, WebVTT, SSA/ASS or TTML"}
	}
	cues := -1 // the number of cues astisub must find, when known
	switch format {
	case FormatSRT:
		err = checkSRT(text)
	case FormatWebVTT:
		text, warnings, err = cleanVTT(text)
		cues = strings.Count(text, " --> ")
	}
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		// astisub indexes slices it has not checked on some malformed input; the pre-checks above
		// catch the cases we know, this catches the rest.
		if r := recover(); r != nil {
			subs, warnings, err = nil, nil, &ParseError{Msg: fmt.Sprintf("malformed %s file", formatName(format))}
		}
	}()
	r := strings.NewReader(text)
	switch format {
	case FormatSRT:
		subs, err = astisub.ReadFromSRT(r)
	case FormatWebVTT:
		subs, err = astisub.ReadFromWebVTT(r)
	case FormatSSA:
		subs, err = astisub.ReadFromSSA(r)
	case FormatTTML:
		subs, err = astisub.ReadFromTTML(r)
	}
	if err != nil {
		return nil, nil, libError(format, err)
	}
	if cues >= 0 && len(subs.Items) != cues {
		// astisub's line reader stops at a line longer than 64 KiB without an error.
		return nil, nil, &ParseError{Msg: fmt.Sprintf("malformed %s file: read %d of its %d cues (is a line longer than 64 KiB?)", formatName(format), len(subs.Items), cues)}
	}
	if err := checkCues(subs); err != nil {
		return nil, nil, err
	}
	normalizeStyles(subs)
	subs.Order()
	return subs, warnings, nil
}

func formatName(f Format) string {
	switch f {
	case FormatSRT:
		return "SRT"
	case FormatWebVTT:
		return "WebVTT"
	case FormatSSA:
		return "SSA/ASS"
	case FormatTTML:
		return "TTML"
	}
	return string(f)
}

// decodeText turns the uploaded bytes into UTF-8 text without a BOM.
func decodeText(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		out, err := dec.Bytes(data)
		if err != nil {
			return "", &ParseError{Msg: "invalid UTF-16 text"}
		}
		return strings.TrimPrefix(string(out), "\uFEFF"), nil
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return "", &ParseError{Line: lineOf(data, bytes.IndexByte(data, 0)), Msg: "binary data (NUL byte): not a text subtitle file"}
	}
	if utf8.Valid(data) {
		return string(data), nil
	}
	// Not UTF-8: a legacy 8-bit encoding. Windows-1252 decodes every byte (its five holes map to
	// C1 controls), so this never fails; it is right for Latin-1 and Windows-1252, the encodings
	// of almost every non-UTF-8 SRT in Western European languages.
	out, err := charmap.Windows1252.NewDecoder().Bytes(data)
	if err != nil {
		return "", &ParseError{Msg: "text is neither UTF-8 nor Windows-1252"}
	}
	return string(out), nil
}

func lineOf(data []byte, off int) int { return bytes.Count(data[:off], []byte{'\n'}) + 1 }

// detectFormat picks the format from a strong signature in the content, then from the hint, then
// from weaker signs in the content.
func detectFormat(text, hint string) Format {
	head := strings.TrimLeft(text, " \t\r\n")
	switch {
	case strings.HasPrefix(head, "WEBVTT"):
		return FormatWebVTT
	case strings.HasPrefix(strings.ToLower(head), "[script info]"):
		return FormatSSA
	case strings.HasPrefix(head, "<?xml") || strings.HasPrefix(head, "<tt"):
		if strings.Contains(head, "<tt") {
			return FormatTTML
		}
	}
	if f := formatFromHint(hint); f != "" {
		return f
	}
	lower := strings.ToLower(head)
	switch {
	case strings.Contains(lower, "[events]") && strings.Contains(lower, "dialogue:"):
		return FormatSSA
	case strings.Contains(head, "-->"):
		return FormatSRT
	}
	return ""
}

func formatFromHint(hint string) Format {
	hint = strings.TrimSpace(hint)
	if hint == "" {
		return ""
	}
	if mt, _, err := mime.ParseMediaType(hint); err == nil && strings.Contains(mt, "/") {
		switch mt {
		case "text/vtt":
			return FormatWebVTT
		case "application/x-subrip", "text/srt", "application/srt", "text/x-srt":
			return FormatSRT
		case "text/x-ssa", "text/x-ass", "application/x-ssa", "application/x-ass", "text/ssa", "text/ass":
			return FormatSSA
		case "application/ttml+xml", "application/ttaf+xml", "application/xml", "text/xml":
			return FormatTTML
		}
		return ""
	}
	switch strings.ToLower(filepath.Ext(hint)) {
	case ".srt":
		return FormatSRT
	case ".vtt", ".webvtt":
		return FormatWebVTT
	case ".ssa", ".ass":
		return FormatSSA
	case ".ttml", ".dfxp", ".xml":
		return FormatTTML
	}
	return ""
}

// A timestamp as SRT and WebVTT write it: [hh:]mm:ss(,|.)mmm. SRT requires hours; WebVTT allows
// them to be left out and requires ".". Both are accepted in both; the fraction must be present.
var (
	reTiming    = regexp.MustCompile(`^\s*(\S+)\s*-->\s*(\S+)(?:\s+(.*))?$`)
	reTimestamp = regexp.MustCompile(`^(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})$`)
	reCueIndex  = regexp.MustCompile(`^\s*\d+\s*$`)
)

// parseTimestamp reads one timestamp of a timing line; the message says what is wrong with it.
func parseTimestamp(s string) (time.Duration, string) {
	m := reTimestamp.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Sprintf("malformed timestamp %q: expected HH:MM:SS,mmm", truncate(s, 40))
	}
	h, _ := strconv.Atoi(m[1]) // "" -> 0
	mi, _ := strconv.Atoi(m[2])
	se, _ := strconv.Atoi(m[3])
	ms, _ := strconv.Atoi((m[4] + "00")[:3])
	if len(m[1]) > 3 || mi >= 60 || se >= 60 {
		return 0, fmt.Sprintf("timestamp %q out of range", s)
	}
	d := time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(se)*time.Second + time.Duration(ms)*time.Millisecond
	if d > MaxCueEnd {
		return 0, fmt.Sprintf("timestamp %q is past 100 hours", s)
	}
	return d, ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// checkTiming validates a line that contains "-->".
func checkTiming(line string, n int) error {
	m := reTiming.FindStringSubmatch(line)
	if m == nil {
		return &ParseError{Line: n, Msg: fmt.Sprintf("malformed timing line %q: expected START --> END", truncate(line, 60))}
	}
	start, msg := parseTimestamp(m[1])
	if msg != "" {
		return &ParseError{Line: n, Msg: msg}
	}
	end, msg := parseTimestamp(m[2])
	if msg != "" {
		return &ParseError{Line: n, Msg: msg}
	}
	if end <= start {
		return &ParseError{Line: n, Msg: fmt.Sprintf("cue ends (%s) before it starts (%s)", m[2], m[1])}
	}
	return nil
}

func splitLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	return strings.Split(strings.ReplaceAll(text, "\r", "\n"), "\n")
}

// checkSRT validates the structure astisub is lenient about: every timing line well formed, and a
// cue number followed by its timing line.
func checkSRT(text string) error {
	lines := splitLines(text)
	cues := 0
	blockStart := true // at the first non-blank line of a block
	for i, line := range lines {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			blockStart = true
			continue
		}
		if strings.Contains(trimmed, "-->") {
			if err := checkTiming(trimmed, n); err != nil {
				return err
			}
			cues++
			blockStart = false
			continue
		}
		if blockStart && reCueIndex.MatchString(trimmed) {
			// A cue number: the next line must be its timing line.
			next := ""
			if i+1 < len(lines) {
				next = strings.TrimSpace(lines[i+1])
			}
			if !strings.Contains(next, "-->") {
				return &ParseError{Line: n + 1, Msg: fmt.Sprintf("expected the timing line of cue %s (START --> END), got %q", trimmed, truncate(next, 60))}
			}
			continue
		}
		if cues == 0 {
			return &ParseError{Line: n, Msg: fmt.Sprintf("expected a cue number or timing line, got %q", truncate(trimmed, 60))}
		}
		blockStart = false
	}
	if cues == 0 {
		return &ParseError{Msg: "no cues found"}
	}
	return nil
}

var reLibLine = regexp.MustCompile(`line (\d+)`)

// libError turns an astisub error into a *ParseError, keeping the line number it names, if any.
func libError(format Format, err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe
	}
	msg := strings.TrimPrefix(err.Error(), "astisub: ")
	line := 0
	if m := reLibLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimSpace(strings.TrimPrefix(reLibLine.ReplaceAllString(msg, ""), ":"))
	}
	return &ParseError{Line: line, Msg: fmt.Sprintf("invalid %s: %s", formatName(format), msg)}
}

// checkCues applies the rules every track must follow, whatever its format.
func checkCues(subs *astisub.Subtitles) error {
	if subs == nil || len(subs.Items) == 0 {
		return &ParseError{Msg: "no cues found"}
	}
	for i, it := range subs.Items {
		switch {
		case it.StartAt < 0:
			return &ParseError{Cue: i + 1, Msg: "cue starts before 0"}
		case it.EndAt <= it.StartAt:
			return &ParseError{Cue: i + 1, Msg: fmt.Sprintf("cue ends (%s) before it starts (%s)", FormatTimestamp(it.EndAt), FormatTimestamp(it.StartAt))}
		case it.EndAt > MaxCueEnd:
			return &ParseError{Cue: i + 1, Msg: "cue ends past 100 hours"}
		}
	}
	return nil
}

// FormatTimestamp writes d as a WebVTT timestamp, HH:MM:SS.mmm.
func FormatTimestamp(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	ms := d / time.Millisecond
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// PlainText is the text of a cue, lines joined by "\n", without styling.
func PlainText(it *astisub.Item) string {
	lines := make([]string, 0, len(it.Lines))
	for _, l := range it.Lines {
		lines = append(lines, l.String())
	}
	return strings.Join(lines, "\n")
}

// reLangTag is the shape of a BCP 47 tag as we accept it in URLs and storage keys.
var reLangTag = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)

// ValidLang checks a BCP 47 language tag ("fr", "en", "pt-BR"). The error is safe to show.
func ValidLang(tag string) error {
	_, err := CanonicalLang(tag)
	return err
}

// CanonicalLang checks a BCP 47 language tag and returns its canonical form ("pt-BR" for
// "pt-br"), which is what goes into storage keys and the catalog.
func CanonicalLang(tag string) (string, error) {
	if len(tag) > 35 || !reLangTag.MatchString(tag) {
		return "", fmt.Errorf("subtitle: %q is not a BCP 47 language tag (e.g. fr, en, pt-BR)", truncate(tag, 40))
	}
	t, err := language.Parse(tag)
	if err != nil {
		return "", fmt.Errorf("subtitle: %q is not a known BCP 47 language tag (e.g. fr, en, pt-BR)", tag)
	}
	if base, conf := t.Base(); conf != language.Exact || base.String() == "und" {
		return "", fmt.Errorf("subtitle: %q names no language", tag)
	}
	return t.String(), nil
}
