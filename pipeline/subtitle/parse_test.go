package subtitle

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const srtUTF8 = "1\n00:00:01,000 --> 00:00:02,500\n<i>Café</i> crème\n\n2\n00:00:03,000 --> 00:00:04,000\nDeux\nlignes\n"

func TestParseFormats(t *testing.T) {
	ass := `[Script Info]
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,{\an8}Deux\Nlignes
Dialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,{\i1}Café{\i0} crème
`
	ttml := `<?xml version="1.0" encoding="UTF-8"?>
<tt xmlns="http://www.w3.org/ns/ttml" xmlns:tts="http://www.w3.org/ns/ttml#styling"><body><div>
<p begin="00:00:01.000" end="00:00:02.500"><span tts:fontStyle="italic">Café</span> crème</p>
<p begin="00:00:03.000" end="00:00:04.000">Deux<br/>lignes</p>
</div></body></tt>`
	vtt := "WEBVTT\n\n00:01.000 --> 00:02.500\n<i>Café</i> crème\n\nNOTE comment\n\ncue-2\n00:00:03.000 --> 00:00:04.000\nDeux\nlignes\n"
	latin1 := strings.ReplaceAll(strings.ReplaceAll(srtUTF8, "é", "\xe9"), "è", "\xe8")
	crlf := strings.ReplaceAll(srtUTF8, "\n", "\r\n")
	utf16 := []byte{0xFF, 0xFE}
	for _, r := range srtUTF8 {
		utf16 = append(utf16, byte(r), byte(r>>8))
	}
	tests := []struct {
		name, hint string
		data       []byte
		secondText string
	}{
		{"srt", "fr.srt", []byte(srtUTF8), "Deux\nlignes"},
		{"srt bom", "fr.srt", append([]byte("\xEF\xBB\xBF"), srtUTF8...), "Deux\nlignes"},
		{"srt latin1", "fr.srt", []byte(latin1), "Deux\nlignes"},
		{"srt crlf", "application/x-subrip", []byte(crlf), "Deux\nlignes"},
		{"srt utf16", "", utf16, "Deux\nlignes"},
		{"srt sniffed", "", []byte(srtUTF8), "Deux\nlignes"},
		{"vtt", "text/vtt; charset=utf-8", []byte(vtt), "Deux\nlignes"},
		{"vtt mislabelled", "fr.srt", []byte(vtt), "Deux\nlignes"},
		{"ass", "fr.ass", []byte(ass), "Deux\nlignes"},
		{"ass sniffed", "application/octet-stream", []byte(ass), "Deux\nlignes"},
		{"ttml", "fr.ttml", []byte(ttml), "Deux\nlignes"},
		{"ttml sniffed", "", []byte(ttml), "Deux\nlignes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subs, err := Parse(tt.data, tt.hint)
			if err != nil {
				t.Fatal(err)
			}
			if len(subs.Items) != 2 {
				t.Fatalf("got %d cues, want 2", len(subs.Items))
			}
			first := subs.Items[0]
			if first.StartAt != time.Second || first.EndAt != 2500*time.Millisecond {
				t.Errorf("first cue %s-%s, want 1s-2.5s", first.StartAt, first.EndAt)
			}
			if got := first.String(); got != "Café crème" {
				t.Errorf("first cue text %q", got)
			}
			if got := PlainText(subs.Items[1]); got != tt.secondText {
				t.Errorf("second cue text %q, want %q", got, tt.secondText)
			}
			vtt, err := VTT(subs)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(vtt), "<i>Café</i> crème") {
				t.Errorf("italics lost in WebVTT:\n%s", vtt)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, hint, data string
		line, cue        int
		msg              string
	}{
		{"bad srt timestamp", "x.srt", "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 --> 00:00:0x,000\nbad\n", 6, 0, "malformed timestamp"},
		{"srt end before start", "x.srt", "1\n00:00:05,000 --> 00:00:02,000\nbackwards\n", 2, 0, "before it starts"},
		{"srt missing end", "x.srt", "1\n00:00:01,000 -->\nhalf\n", 2, 0, "malformed timing line"},
		{"srt number without timing", "x.srt", "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\nno timing here\n", 6, 0, "expected the timing line of cue 2"},
		{"srt minutes out of range", "x.srt", "1\n00:75:01,000 --> 00:76:02,000\nx\n", 2, 0, "out of range"},
		{"srt garbage first line", "x.srt", "hello\n00:00:01,000 --> 00:00:02,000\nx\n", 1, 0, "expected a cue number"},
		{"vtt no header", "x.vtt", "00:01.000 --> 00:02.000\nx\n", 1, 0, "WEBVTT"},
		{"vtt only a bad timing", "x.vtt", "WEBVTT\n\n00:03.000 --> 00:04\ny\n", 0, 0, "no cues found: line 3: malformed timing line"},
		{"empty", "x.srt", "", 0, 0, "no cues"},
		{"no cues", "x.vtt", "WEBVTT\n\nNOTE nothing\n", 0, 0, "no cues"},
		{"unknown", "notes.txt", "just some text\n", 0, 0, "unknown subtitle format"},
		{"binary", "x.srt", "1\n\x00\x01\x02", 2, 0, "binary"},
		{"ttml broken", "x.ttml", `<?xml version="1.0"?><tt xmlns="http://www.w3.org/ns/ttml"><body><div><p begin="00:00:01.000" end="00:00:02.000">x</div></body></tt>`, 1, 0, "invalid TTML"},
		{"ttml end before start", "x.ttml", `<?xml version="1.0"?><tt xmlns="http://www.w3.org/ns/ttml"><body><div><p begin="00:00:05.000" end="00:00:02.000">x</p></div></body></tt>`, 0, 1, "before it starts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data), tt.hint)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *ParseError", err)
			}
			if pe.Line != tt.line || pe.Cue != tt.cue || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("got %#v (%s), want line %d cue %d and %q", pe, pe.Where(), tt.line, tt.cue, tt.msg)
			}
		})
	}
}

func TestParseOrdersCues(t *testing.T) {
	subs, err := Parse([]byte("2\n00:00:05,000 --> 00:00:06,000\nlater\n\n1\n00:00:01,000 --> 00:00:02,000\nfirst\n"), "x.srt")
	if err != nil {
		t.Fatal(err)
	}
	if subs.Items[0].String() != "first" {
		t.Errorf("cues not ordered by start: %q first", subs.Items[0].String())
	}
}

func TestValidLang(t *testing.T) {
	for tag, want := range map[string]string{"fr": "fr", "en": "en", "pt-BR": "pt-BR", "pt-br": "pt-BR", "zh-Hant": "zh-Hant", "EN": "en"} {
		got, err := CanonicalLang(tag)
		if err != nil || got != want {
			t.Errorf("CanonicalLang(%q) = %q, %v; want %q", tag, got, err, want)
		}
	}
	for _, tag := range []string{"", "xx_--", "en_US", "fr/../x", "und", "a", "toolongtoolong", "fr-", "12", "en US", "qqqqqqqqq"} {
		if err := ValidLang(tag); err == nil {
			t.Errorf("ValidLang(%q) accepted", tag)
		}
	}
}

func FuzzParse(f *testing.F) {
	vtts, err := filepath.Glob(filepath.Join("testdata", "webvtt", "*.vtt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range vtts {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, filepath.Base(name))
	}
	f.Add([]byte(srtUTF8), "x.srt")
	f.Add([]byte("WEBVTT\n\n00:01.000 --> 00:02.000 line:0\n<i>x</i>\n"), "x.vtt")
	f.Add([]byte("1\n00:00:01,000 -->\nx\n"), "")
	f.Add([]byte("[Script Info]\n[Events]\nFormat: Layer, Start, End, Style, Text\nDialogue: 0,0:00:01.00,0:00:02.00,Default,{\\i1}x\n"), "x.ass")
	f.Add([]byte(`<tt xmlns="http://www.w3.org/ns/ttml"><body><div><p begin="1s" end="2s">x</p></div></body></tt>`), "x.ttml")
	f.Fuzz(func(t *testing.T, data []byte, hint string) {
		subs, warnings, err := ParseWarn(data, hint)
		if len(warnings) > 101 {
			t.Fatalf("%d warnings: the list must stay short", len(warnings))
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
			return
		}
		for i, it := range subs.Items {
			if it.StartAt < 0 || it.EndAt <= it.StartAt {
				t.Fatalf("cue %d: %s-%s", i, it.StartAt, it.EndAt)
			}
		}
		if _, err := VTT(subs); err != nil {
			t.Fatal(err)
		}
	})
}
