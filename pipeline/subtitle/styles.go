package subtitle

import (
	"regexp"
	"strings"

	"github.com/asticode/go-astisub"
)

// astisub's WebVTT writer only writes WebVTT tags (and cue settings); it reads italics from SRT
// into tags itself, but not from SSA override codes or TTML attributes, and it leaves SRT's
// "{\an8}" position codes in the text. normalizeStyles fills the WebVTT side from the others so
// that italics, bold, underline and the vertical position survive the conversion.

var reOverride = regexp.MustCompile(`\{\\[^{}]*\}`)

type emphasis struct{ b, i, u bool }

func (e emphasis) tags() []astisub.WebVTTTag {
	var t []astisub.WebVTTTag
	if e.b {
		t = append(t, astisub.WebVTTTag{Name: "b"})
	}
	if e.i {
		t = append(t, astisub.WebVTTTag{Name: "i"})
	}
	if e.u {
		t = append(t, astisub.WebVTTTag{Name: "u"})
	}
	return t
}

func normalizeStyles(subs *astisub.Subtitles) {
	for _, it := range subs.Items {
		base := styleEmphasis(it.Style)
		if it.InlineStyle != nil {
			base = mergeEmphasis(base, it.InlineStyle)
		}
		cur := base
		for li := range it.Lines {
			line := &it.Lines[li]
			items := line.Items[:0]
			for _, x := range line.Items {
				// SSA override codes: astisub keeps the "{...}" before a run in SSAEffect.
				if x.InlineStyle != nil && x.InlineStyle.SSAEffect != "" {
					cur = applyOverrides(cur, base, x.InlineStyle.SSAEffect, it)
				}
				// Override codes left in the text (SRT files written by SSA tools, "{\an8}").
				if strings.Contains(x.Text, "{\\") {
					for _, code := range reOverride.FindAllString(x.Text, -1) {
						cur = applyOverrides(cur, base, code, it)
					}
					x.Text = reOverride.ReplaceAllString(x.Text, "")
				}
				x.Text = strings.ReplaceAll(x.Text, `\h`, "\u00a0")
				e := cur
				if x.InlineStyle != nil {
					e = mergeEmphasis(e, x.InlineStyle)
				}
				e = mergeEmphasis(e, styleAttrs(x.Style))
				if x.InlineStyle == nil || len(x.InlineStyle.WebVTTTags) == 0 {
					if tags := e.tags(); len(tags) > 0 {
						if x.InlineStyle == nil {
							x.InlineStyle = &astisub.StyleAttributes{}
						} else {
							cp := *x.InlineStyle
							x.InlineStyle = &cp
						}
						x.InlineStyle.WebVTTTags = tags
					}
				}
				if x.Text == "" && len(line.Items) > 1 {
					continue
				}
				items = append(items, x)
			}
			line.Items = items
		}
	}
}

func styleAttrs(s *astisub.Style) *astisub.StyleAttributes {
	if s == nil {
		return nil
	}
	return s.InlineStyle
}

// styleEmphasis follows a style and the styles it is based on.
func styleEmphasis(s *astisub.Style) emphasis {
	var e emphasis
	for depth := 0; s != nil && depth < 8; depth++ {
		if s.InlineStyle != nil {
			e = mergeEmphasis(e, s.InlineStyle)
		}
		s = s.Style
	}
	return e
}

func mergeEmphasis(e emphasis, sa *astisub.StyleAttributes) emphasis {
	if sa == nil {
		return e
	}
	isTrue := func(p *bool) bool { return p != nil && *p }
	is := func(p *string, v string) bool { return p != nil && strings.EqualFold(strings.TrimSpace(*p), v) }
	e.b = e.b || isTrue(sa.SSABold) || is(sa.TTMLFontWeight, "bold")
	e.i = e.i || isTrue(sa.SSAItalic) || is(sa.TTMLFontStyle, "italic") || is(sa.TTMLFontStyle, "oblique")
	e.u = e.u || isTrue(sa.SSAUnderline) || is(sa.TTMLTextDecoration, "underline")
	return e
}

// applyOverrides reads SSA override codes such as {\i1\b0\an8} and {\r}.
func applyOverrides(cur, base emphasis, block string, it *astisub.Item) emphasis {
	block = strings.Trim(block, "{}")
	for _, code := range strings.Split(block, `\`) {
		switch {
		case code == "i1":
			cur.i = true
		case code == "i0":
			cur.i = false
		case code == "b1":
			cur.b = true
		case code == "b0":
			cur.b = false
		case code == "u1":
			cur.u = true
		case code == "u0":
			cur.u = false
		case code == "r":
			cur = base
		case len(code) == 3 && strings.HasPrefix(code, "an") && code[2] >= '1' && code[2] <= '9':
			setPosition(it, code[2]-'0')
		}
	}
	return cur
}

// setPosition maps a numpad position (SSA \anN, SRT {\anN}) onto WebVTT cue settings: the line
// (vertical) and the alignment. Bottom centre is WebVTT's default and sets nothing.
func setPosition(it *astisub.Item, pos byte) {
	if it.InlineStyle == nil {
		it.InlineStyle = &astisub.StyleAttributes{}
	}
	switch {
	case pos >= 7:
		it.InlineStyle.WebVTTLine = "0"
	case pos >= 4:
		it.InlineStyle.WebVTTLine = "50%"
	}
	switch pos % 3 {
	case 1:
		it.InlineStyle.WebVTTAlign = "left"
	case 0:
		it.InlineStyle.WebVTTAlign = "right"
	}
}
