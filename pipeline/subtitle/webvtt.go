package subtitle

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Warning is a part of an uploaded file that was skipped or ignored the way a browser skips it,
// rather than refused: "line 3: ...". Safe to show the person who uploaded the file.
type Warning struct {
	Line int
	Msg  string
}

func (w Warning) String() string {
	if w.Line > 0 {
		return fmt.Sprintf("line %d: %s", w.Line, w.Msg)
	}
	return w.Msg
}

// vttCue is one cue found by the WebVTT parser algorithm, before its text is read.
type vttCue struct {
	line       int // of the timing line
	start, end time.Duration
	settings   []string // the valid ones, as written ("line:0%,start")
	text       []string
}

// cleanVTT runs the WebVTT parser algorithm of https://www.w3.org/TR/webvtt1/#file-parsing on
// text (already decoded, line breaks not yet normalised) and writes back the cues it finds as a
// canonical WebVTT file that astisub reads without surprises.
//
// Why not hand the file to astisub directly: astisub reads WebVTT line by line with rules of its
// own. It refuses whole files that every browser reads (an id line containing "-->", a region
// setting naming a region defined in the old header syntax) and misreads others (a cue text line
// starting with "NOTE " or "STYLE"). Browsers skip a malformed block and keep the rest; so does
// this function, and it says what it skipped in the warnings. The cue text itself (tags, voices,
// entities) is still read by astisub, which handles it well once each cue is on its own.
//
// What the canonical file keeps: STYLE blocks before the first cue (WriteVTT writes them out), the
// cues with their timings and the cue settings that are valid by the spec. It drops what
// WriteVTT drops anyway: header text, cue ids, comments and regions (a region setting that names
// no region is reported). A cue whose end is not after its start, or that ends past MaxCueEnd,
// is skipped with a warning: a browser keeps it but never shows it, and a replay track cannot
// hold it. The result is an error only when the signature is wrong or no cue is left.
func cleanVTT(text string) (string, []Warning, error) {
	lines := splitLines(text)
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		// A final line break ends the last line; it does not start an empty one. (The spec reads
		// "a\n" and "a" alike.)
		lines = lines[:len(lines)-1]
	}
	first := ""
	if len(lines) > 0 {
		first = strings.TrimPrefix(lines[0], "\uFEFF")
	}
	if first != "WEBVTT" && !strings.HasPrefix(first, "WEBVTT ") && !strings.HasPrefix(first, "WEBVTT\t") {
		return "", nil, &ParseError{Line: 1, Msg: `a WebVTT file must start with "WEBVTT"`}
	}
	p := vttParser{lines: lines, regions: map[string]bool{}}
	i := 1
	if i < len(lines) {
		if lines[i] != "" {
			i = p.block(i, true)
		} else {
			i++
		}
	}
	for i < len(lines) {
		for i < len(lines) && lines[i] == "" {
			i++
		}
		if i < len(lines) {
			i = p.block(i, false)
		}
	}
	if len(p.cues) == 0 {
		msg := "no cues found"
		if len(p.warnings) > 0 {
			msg += ": " + p.warnings[0].String()
			if n := len(p.warnings) - 1; n > 0 {
				msg += fmt.Sprintf(" (and %d more problems)", n)
			}
		}
		return "", p.warnings, &ParseError{Msg: msg}
	}
	var b strings.Builder
	b.WriteString("WEBVTT\n\n")
	for _, css := range p.styles {
		b.WriteString("STYLE\n")
		for _, l := range css {
			if strings.TrimSpace(l) == "" {
				continue
			}
			b.WriteString(l)
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	for _, c := range p.cues {
		b.WriteString(FormatTimestamp(c.start))
		b.WriteString(" --> ")
		b.WriteString(FormatTimestamp(c.end))
		for _, s := range c.settings {
			b.WriteByte(' ')
			b.WriteString(s)
		}
		b.WriteByte('\n')
		for _, l := range c.text {
			trimmed := strings.TrimSpace(l)
			if trimmed == "" {
				// astisub would end the cue here; a blank line shows nothing anyway.
				continue
			}
			if astisubKeyword(trimmed) {
				// astisub would read this text as a block of its own; an empty class span
				// renders the same and keeps it text.
				l = "<c>" + l + "</c>"
			}
			b.WriteString(l)
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	return b.String(), p.warnings, nil
}

// astisubKeyword tells whether astisub's line reader would take a cue text line for something else.
func astisubKeyword(trimmed string) bool {
	for _, k := range []string{"NOTE ", "Region: ", "STYLE", "X-TIMESTAMP-MAP"} {
		if strings.HasPrefix(trimmed, k) {
			return true
		}
	}
	return false
}

type vttParser struct {
	lines    []string
	seenCue  bool
	regions  map[string]bool
	styles   [][]string
	cues     []vttCue
	warnings []Warning
}

func (p *vttParser) warn(line int, format string, args ...any) {
	// A file of a million broken lines should not answer a million warnings.
	const maxWarnings = 100
	switch {
	case len(p.warnings) < maxWarnings:
		p.warnings = append(p.warnings, Warning{Line: line, Msg: fmt.Sprintf(format, args...)})
	case len(p.warnings) == maxWarnings:
		p.warnings = append(p.warnings, Warning{Msg: "more problems not listed"})
	}
}

// block is "collect a WebVTT block" from lines[start]; it returns the index of the line after
// the block. Line indexes stand for the spec's positions: the block's lines are whole lines.
func (p *vttParser) block(start int, inHeader bool) int {
	const (
		kindNone = iota
		kindStyle
		kindRegion
	)
	var (
		lineCount int
		prev      = start
		buffer    []string
		seenArrow bool
		cue       *vttCue
		kind      = kindNone
		badTiming string // why the timing line of this block failed
		badLine   int
		idArrow   bool // the block ended at a timing line right after its failed one: an id with "-->"
		i         = start
	)
	for {
		line := p.lines[i]
		n := i + 1
		i++
		lineCount++
		seenEOF := i >= len(p.lines)
		if strings.Contains(line, "-->") {
			if inHeader || !(lineCount == 1 || lineCount == 2 && !seenArrow) {
				i = prev
				idArrow = cue == nil && lineCount == 2
				break
			}
			seenArrow = true
			prev = i
			c, msg := p.timings(line, n)
			if msg != "" {
				cue, badTiming, badLine = nil, msg, n
			} else {
				cue, buffer = c, nil
				p.seenCue = true
			}
		} else if line == "" {
			break
		} else {
			if !inHeader && lineCount == 2 && !p.seenCue {
				switch {
				case vttKeyword(buffer, "STYLE"):
					kind, buffer = kindStyle, nil
				case vttKeyword(buffer, "REGION"):
					kind, buffer = kindRegion, nil
				}
			}
			buffer = append(buffer, line)
			prev = i
		}
		if seenEOF {
			break
		}
	}
	switch {
	case inHeader:
		// Header text (a title, "Kind:", the old "Region:" lines) means nothing to a player.
	case cue != nil:
		cue.text = buffer
		p.addCue(*cue)
	case kind == kindStyle:
		p.styles = append(p.styles, buffer)
	case kind == kindRegion:
		p.addRegion(buffer)
	case badTiming != "" && idArrow:
		p.warn(badLine, "cue id %q dropped: an id may not contain \"-->\" (the cue under it is kept)", truncate(p.lines[badLine-1], 40))
	case badTiming != "" && len(buffer) == 0:
		p.warn(badLine, "%s; line skipped", badTiming)
	case badTiming != "":
		p.warn(badLine, "%s; cue skipped", badTiming)
	case vttKeyword(buffer[:min(1, len(buffer))], "NOTE"):
		// A comment.
	case vttKeyword(buffer[:min(1, len(buffer))], "STYLE"), vttKeyword(buffer[:min(1, len(buffer))], "REGION"):
		p.warn(start+1, "%s block after the first cue skipped: move it before the cues", strings.Fields(buffer[0])[0])
	default:
		p.warn(start+1, "block without a timing line (START --> END) skipped: %q", truncate(strings.Join(buffer, " "), 60))
	}
	return i
}

// vttKeyword tells whether the first line of buffer is word alone (trailing whitespace allowed),
// or for NOTE, the word followed by a space or a tab.
func vttKeyword(buffer []string, word string) bool {
	if len(buffer) == 0 || !strings.HasPrefix(buffer[0], word) {
		return false
	}
	rest := buffer[0][len(word):]
	if word == "NOTE" {
		return rest == "" || rest[0] == ' ' || rest[0] == '\t'
	}
	return len(buffer) == 1 && strings.TrimLeft(rest, " \t\f") == ""
}

func (p *vttParser) addCue(c vttCue) {
	switch {
	case c.end <= c.start:
		p.warn(c.line, "cue ends (%s) before it starts (%s); cue skipped", FormatTimestamp(c.end), FormatTimestamp(c.start))
	case c.end > MaxCueEnd:
		p.warn(c.line, "cue ends past 100 hours; cue skipped")
	default:
		p.cues = append(p.cues, c)
	}
}

// addRegion reads the id of a REGION block (its other settings only place cues, which WriteVTT
// does not keep), so that cue settings naming it are known.
func (p *vttParser) addRegion(buffer []string) {
	id := ""
	for _, l := range buffer {
		for _, s := range strings.Fields(l) {
			if k, v, ok := strings.Cut(s, ":"); ok && k == "id" && v != "" {
				id = v
			}
		}
	}
	p.regions[id] = true
}

// timings is "collect WebVTT cue timings and settings" from line n. A failure message is returned
// for the whole line; cue settings that are not valid are ignored one by one, with a warning.
func (p *vttParser) timings(line string, n int) (*vttCue, string) {
	s := strings.TrimLeft(line, vttSpace)
	start, rest, ok := parseVTTTimestamp(s)
	if !ok {
		return nil, fmt.Sprintf("malformed timing line %q: expected [HH:]MM:SS.mmm --> [HH:]MM:SS.mmm", truncate(line, 60))
	}
	rest = strings.TrimLeft(rest, vttSpace)
	if !strings.HasPrefix(rest, "-->") {
		return nil, fmt.Sprintf("malformed timing line %q: expected \" --> \" after the start time", truncate(line, 60))
	}
	end, rest, ok := parseVTTTimestamp(strings.TrimLeft(rest[3:], vttSpace))
	if !ok {
		return nil, fmt.Sprintf("malformed timing line %q: expected [HH:]MM:SS.mmm --> [HH:]MM:SS.mmm", truncate(line, 60))
	}
	return &vttCue{line: n, start: start, end: end, settings: p.settings(rest, n)}, ""
}

// vttSpace is the spec's "whitespace" in timing lines.
const vttSpace = " \t\f"

var vttDigits = regexp.MustCompile(`^[0-9]*`)

// parseVTTTimestamp is "collect a WebVTT timestamp" at the start of s: [HH+:]MM:SS.mmm, minutes
// and seconds below 60. It returns the rest of s. Hours past MaxCueEnd read as MaxCueEnd+1s so
// that the cue is reported rather than overflowing.
func parseVTTTimestamp(s string) (time.Duration, string, bool) {
	num := func() (string, bool) {
		d := vttDigits.FindString(s)
		s = s[len(d):]
		return d, d != ""
	}
	v1, ok := num()
	if !ok {
		return 0, "", false
	}
	hours := len(v1) != 2 || v1 > "59"
	if !strings.HasPrefix(s, ":") {
		return 0, "", false
	}
	s = s[1:]
	v2, _ := num()
	if len(v2) != 2 {
		return 0, "", false
	}
	var v3 string
	if hours || strings.HasPrefix(s, ":") {
		if !strings.HasPrefix(s, ":") {
			return 0, "", false
		}
		s = s[1:]
		v3, _ = num()
		if len(v3) != 2 {
			return 0, "", false
		}
	} else {
		v1, v2, v3 = "0", v1, v2
	}
	if !strings.HasPrefix(s, ".") {
		return 0, "", false
	}
	s = s[1:]
	v4, _ := num()
	if len(v4) != 3 || v2 > "59" || v3 > "59" {
		return 0, "", false
	}
	v1 = strings.TrimLeft(v1, "0")
	if len(v1) > 4 {
		return MaxCueEnd + time.Second, s, true
	}
	h, _ := strconv.Atoi("0" + v1)
	m, _ := strconv.Atoi(v2)
	sec, _ := strconv.Atoi(v3)
	ms, _ := strconv.Atoi(v4)
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second + time.Duration(ms)*time.Millisecond, s, true
}

// settings is "parse the WebVTT cue settings" of line n, keeping the settings that are valid and
// reporting the others. region is checked, then dropped: WriteVTT writes no regions.
func (p *vttParser) settings(s string, n int) []string {
	var out []string
	for _, setting := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\f' }) {
		name, value, ok := strings.Cut(setting, ":")
		if !ok || name == "" || value == "" {
			p.warn(n, "cue setting %q ignored: expected name:value", truncate(setting, 40))
			continue
		}
		valid := false
		switch name {
		case "region":
			if !p.regions[value] {
				p.warn(n, "cue setting %q ignored: no REGION block before the cues defines region %q", truncate(setting, 40), truncate(value, 40))
			}
			continue
		case "vertical":
			valid = value == "rl" || value == "lr"
		case "line":
			pos, align, hasAlign := strings.Cut(value, ",")
			valid = validLinePos(pos) && (!hasAlign || align == "start" || align == "center" || align == "end")
		case "position":
			pos, align, hasAlign := strings.Cut(value, ",")
			valid = validPercentage(pos) && (!hasAlign || align == "line-left" || align == "center" || align == "line-right")
		case "size":
			valid = validPercentage(value)
		case "align":
			valid = value == "start" || value == "center" || value == "end" || value == "left" || value == "right"
		default:
			p.warn(n, "cue setting %q ignored: unknown setting (use vertical, line, position, size, align or region)", truncate(setting, 40))
			continue
		}
		if !valid {
			p.warn(n, "cue setting %q ignored: invalid value", truncate(setting, 40))
			continue
		}
		out = append(out, setting)
	}
	return out
}

var (
	rePercentage = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?%$`)
	reLineNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
)

func validPercentage(s string) bool {
	if !rePercentage.MatchString(s) {
		return false
	}
	f, err := strconv.ParseFloat(s[:len(s)-1], 64)
	return err == nil && f >= 0 && f <= 100
}

func validLinePos(s string) bool {
	if strings.HasSuffix(s, "%") {
		return validPercentage(s)
	}
	return reLineNumber.MatchString(s)
}
