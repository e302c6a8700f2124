package pipeline

import (
	"codeberg.org/atelier/atelier/pipeline/media"
	"errors"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

func TestParseTimecode(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"00:01:10.000", 70 * time.Second, ""},
		{"00:31:20.5", 31*time.Minute + 20*time.Second + 500*ms, ""},
		{"1:02:03", time.Hour + 2*time.Minute + 3*time.Second, ""},
		{"05:07", 5*time.Minute + 7*time.Second, ""},
		{"75:07", 75*time.Minute + 7*time.Second, ""},
		{"90", 90 * time.Second, ""},
		{"90.25", 90*time.Second + 250*ms, ""},
		{"0", 0, ""},
		{"0.000000001", 1, ""},
		{"", 0, "empty"},
		{"1:2:3:4", 0, "too many"},
		{"00:60:00", 0, "minutes"},
		{"00:00:60", 0, "seconds"},
		{"00:1:00", 0, "minutes"},
		{"1:5", 0, "seconds"},
		{"-5", 0, "digits"},
		{"1e3", 0, "digits"},
		{"10.", 0, "fraction"},
		{".5", 0, "digits"},
		{"1.1234567891", 0, "fraction"},
		{"101:00:00", 0, "100 hours"},
		{"00:00:0a", 0, "digits"},
		{" 10", 0, "digits"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTimecode(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseTimecode(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseTimecode(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestFormatTimecode(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                       "00:00:00",
		58*time.Minute + 12*time.Second:         "00:58:12",
		time.Hour + 500*time.Millisecond:        "01:00:00.500",
		31*time.Minute + 20500*time.Millisecond: "00:31:20.500",
	} {
		if got := FormatTimecode(d); got != want {
			t.Errorf("FormatTimecode(%v) = %q, want %q", d, got, want)
		}
	}
}

const exampleMeta = `{"title": "Partager des fichiers avec Nextcloud", "language": "fr", "workshop_id": "w1",
 "documents": [{"software": "nextcloud", "version": "27.1.4"}],
 "edits": {"keep": [["00:31:20.5", "00:58:00"], ["00:01:10.000", "00:25:00.000"]]},
 "chapters": [{"start": "00:05:00", "title": "Partage par lien",
               "documents": [{"software": "nextcloud", "version": "27.1.4"}]},
              {"start": 1900, "title": "Fin"}],
 "cut": "accurate"}`

func TestParseMetaExample(t *testing.T) {
	p, err := ParseMeta([]byte(exampleMeta))
	if err != nil {
		t.Fatal(err)
	}
	if p.Cut != media.CutAccurate || p.Publication != PublishDraft || p.Language != "fr" {
		t.Errorf("defaults: %+v", p)
	}
	plan, err := p.Resolve(58*time.Minute + 12*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	keep := plan.Spans
	want := []media.Span{{Start: 70 * time.Second, End: 25 * time.Minute}, {Start: 31*time.Minute + 20500*time.Millisecond, End: 58 * time.Minute}}
	if !equalSpans(keep, want) {
		t.Fatalf("keep = %v, want %v", keep, want)
	}
	chs := ReplayChapters(keep, p.Chapters)
	if len(chs) != 2 || chs[0].Start != 5*time.Minute-70*time.Second || chs[0].Title != "Partage par lien" {
		t.Fatalf("chapters = %+v", chs)
	}
	// 1900 s = 00:31:40, 19.5 s into the second span, which starts 23:50 into the replay.
	if want := 23*time.Minute + 50*time.Second + 19500*time.Millisecond; chs[1].Start != want {
		t.Errorf("chapter 2 at %v, want %v", chs[1].Start, want)
	}
}

func TestMetaErrors(t *testing.T) {
	const dur = 58*time.Minute + 12*time.Second
	tests := []struct {
		name, meta, field, msg string
	}{
		{"no title", `{"language":"fr"}`, "title", "required"},
		{"no language", `{"title":"t"}`, "language", "required"},
		{"bad language", `{"title":"t","language":"not a language"}`, "language", "not a language tag"},
		{"unknown field", `{"title":"t","language":"fr","colour":1}`, "colour", "unknown field"},
		{"malformed", `{"title":`, "meta", "malformed"},
		{"bad cut", `{"title":"t","language":"fr","cut":"sloppy"}`, "cut", "fast, accurate or reencode"},
		{"bad publication", `{"title":"t","language":"fr","publication":"maybe"}`, "publication", "draft, published or unlisted"},
		{"both edits", `{"title":"t","language":"fr","edits":{"keep":[[0,1]],"remove":[[2,3]]}}`, "edits", "not both"},
		{"no edits", `{"title":"t","language":"fr","edits":{}}`, "edits", "keep or remove"},
		{"empty list", `{"title":"t","language":"fr","edits":{"keep":[]}}`, "edits.keep", "empty"},
		{"not a pair", `{"title":"t","language":"fr","edits":{"keep":[[0,1],[5]]}}`, "edits.keep[1]", "pair"},
		{"bad timecode", `{"title":"t","language":"fr","edits":{"keep":[[0,1],["00:05:00","00:61:00"]]}}`, "edits.keep[1][1]", "bad timecode"},
		{"bad timecode type", `{"title":"t","language":"fr","edits":{"keep":[[true,1]]}}`, "meta", "timecode"},
		{"empty range", `{"title":"t","language":"fr","edits":{"remove":[["00:05:00","00:05:00"]]}}`, "edits.remove[0]", "empty"},
		{"backwards range", `{"title":"t","language":"fr","edits":{"keep":[["00:06:00","00:05:00"]]}}`, "edits.keep[0]", "empty"},
		{"overlap", `{"title":"t","language":"fr","edits":{"keep":[["00:10:00","00:20:00"],["00:01:00","00:02:00"],["00:15:00","00:30:00"]]}}`, "edits.keep[2]", "ranges 1 (00:10:00–00:20:00) and 3 (00:15:00–00:30:00) overlap"},
		{"past the end", `{"title":"t","language":"fr","edits":{"keep":[[0,10],[20,30],["00:59:00","01:02:00"]]}}`, "edits.keep[2]", "cut past the end: range 3 ends at 01:02:00 but the recording lasts 00:58:12"},
		{"starts past the end", `{"title":"t","language":"fr","edits":{"remove":[["00:58:12.03","00:58:12.04"]]}}`, "edits.remove[0]", "range 1 starts at 00:58:12.030"},
		{"removes all", `{"title":"t","language":"fr","edits":{"remove":[[0,"00:58:12"]]}}`, "edits.remove", "whole recording"},
		{"chapter outside", `{"title":"t","language":"fr","edits":{"keep":[[0,60],[120,180]]},"chapters":[{"start":10,"title":"a"},{"start":"00:01:30","title":"b"}]}`, "chapters[1].start", "outside the kept material (00:00:00–00:01:00, 00:02:00–00:03:00)"},
		{"chapter in removed", `{"title":"t","language":"fr","edits":{"remove":[[60,120]]},"chapters":[{"start":61,"title":"a"}]}`, "chapters[0].start", "outside"},
		{"chapter bad start", `{"title":"t","language":"fr","chapters":[{"start":"x","title":"a"}]}`, "chapters[0].start", "bad timecode"},
		{"chapter no title", `{"title":"t","language":"fr","chapters":[{"start":"1","title":" "}]}`, "chapters[0].title", "no title"},
		{"chapter same start", `{"title":"t","language":"fr","chapters":[{"start":"60","title":"a"},{"start":"00:01:00","title":"b"}]}`, "chapters[1].start", "both start at 00:01:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseMeta([]byte(tt.meta))
			if err == nil {
				_, err = p.Resolve(dur)
			}
			var inv *httpapi.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("err = %v, want a validation error", err)
			}
			if inv.Field != tt.field || !strings.Contains(inv.Message, tt.msg) {
				t.Fatalf("got field %q message %q; want field %q message containing %q", inv.Field, inv.Message, tt.field, tt.msg)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	s := time.Second
	tests := []struct {
		name string
		meta string
		dur  time.Duration
		want []media.Span
	}{
		{"no edits keeps all", `{"title":"t","language":"fr"}`, 10 * s, []media.Span{{Start: 0, End: 10 * s}}},
		{"remove middle", `{"title":"t","language":"fr","edits":{"remove":[[4,6]]}}`, 10 * s, []media.Span{{Start: 0, End: 4 * s}, {Start: 6 * s, End: 10 * s}}},
		{"remove edges", `{"title":"t","language":"fr","edits":{"remove":[[0,2],[8,10]]}}`, 10 * s, []media.Span{{Start: 2 * s, End: 8 * s}}},
		{"end within slack is clamped", `{"title":"t","language":"fr","edits":{"keep":[[1,"10.04"]]}}`, 10 * s, []media.Span{{Start: s, End: 10 * s}}},
		{"touching ranges", `{"title":"t","language":"fr","edits":{"keep":[[1,2],[2,3]]}}`, 10 * s, []media.Span{{Start: s, End: 2 * s}, {Start: 2 * s, End: 3 * s}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseMeta([]byte(tt.meta))
			if err != nil {
				t.Fatal(err)
			}
			plan, err := p.Resolve(tt.dur)
			if err != nil {
				t.Fatal(err)
			}
			got := plan.Spans
			if !equalSpans(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReplayChapters(t *testing.T) {
	s := time.Second
	kept := []media.Span{{Start: 10 * s, End: 20 * s}, {Start: 30 * s, End: 40 * s}}
	got := ReplayChapters(kept, []Chapter{
		{Chapter: media.Chapter{Start: 10 * s, Title: "a"}},
		{Chapter: media.Chapter{Start: 15 * s, Title: "b"}},
		{Chapter: media.Chapter{Start: 25 * s, Title: "moved to the next span"}},
		{Chapter: media.Chapter{Start: 30 * s, Title: "pushed onto the same start: dropped"}},
		{Chapter: media.Chapter{Start: 35 * s, Title: "c"}},
		{Chapter: media.Chapter{Start: 50 * s, Title: "after the end"}},
	})
	want := []Chapter{{Chapter: media.Chapter{Start: 0, Title: "a"}}, {Chapter: media.Chapter{Start: 5 * s, Title: "b"}}, {Chapter: media.Chapter{Start: 10 * s, Title: "moved to the next span"}}, {Chapter: media.Chapter{Start: 15 * s, Title: "c"}}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range got {
		if got[i].Start != want[i].Start || got[i].Title != want[i].Title {
			t.Errorf("chapter %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func equalSpans(a, b []media.Span) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzParseTimecode(f *testing.F) {
	for _, s := range []string{"00:01:10.000", "00:31:20.5", "05:07", "90", "1.5", "", "1:2:3:4", "99:59:59.999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseTimecode(s)
		if err != nil {
			return
		}
		if d < 0 || d > maxTimecode {
			t.Fatalf("ParseTimecode(%q) = %v out of range", s, d)
		}
		// What we print, we read back (to the millisecond).
		back, err := ParseTimecode(FormatTimecode(d))
		if err != nil {
			t.Fatalf("FormatTimecode(%v) = %q does not parse: %v", d, FormatTimecode(d), err)
		}
		if diff := back - d; diff < -time.Millisecond || diff > time.Millisecond {
			t.Fatalf("round trip of %q: %v -> %v", s, d, back)
		}
	})
}

func FuzzParseMeta(f *testing.F) {
	f.Add([]byte(exampleMeta), int64(3600_000))
	f.Add([]byte(`{"title":"t","language":"fr","edits":{"remove":[[0,2],[8,10]]}}`), int64(10_000))
	f.Add([]byte(`{"title":"t","language":"fr","edits":{"keep":[[1,2],[2,3]]},"chapters":[{"start":"1.5","title":"x"}]}`), int64(5_000))
	f.Fuzz(func(t *testing.T, b []byte, durMS int64) {
		if len(b) > maxMetaPart {
			return // Upload refuses a larger meta part before parsing it
		}
		p, err := ParseMeta(b)
		if err != nil {
			var inv *httpapi.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("ParseMeta error %v is not a validation error", err)
			}
			return
		}
		dur := time.Duration(durMS%(200*3600_000)) * time.Millisecond
		plan, err := p.Resolve(dur)
		if err != nil {
			var inv *httpapi.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("Resolve error %v is not a validation error", err)
			}
			return
		}
		keep := plan.Spans
		var total time.Duration
		for i, s := range keep {
			if s.Start < 0 || s.End > dur || s.End <= s.Start || (i > 0 && s.Start < keep[i-1].End) {
				t.Fatalf("bad kept spans %v for duration %v", keep, dur)
			}
			total += s.Len()
		}
		chs := ReplayChapters(keep, p.Chapters)
		if len(chs) != len(p.Chapters) {
			t.Fatalf("validated chapters %v lost in mapping: %v", p.Chapters, chs)
		}
		for i, c := range chs {
			if c.Start < 0 || c.Start >= total || (i > 0 && c.Start <= chs[i-1].Start) {
				t.Fatalf("bad replay chapters %v (replay lasts %v)", chs, total)
			}
		}
	})
}
