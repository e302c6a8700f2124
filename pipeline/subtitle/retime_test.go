package subtitle

import (
	"bytes"
	"codeberg.org/atelier/atelier/pipeline/media"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/asticode/go-astisub"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// The edit of the golden test: an accurate cut keeping 0:10-0:30 and 0:40-1:00 of the source.
var goldenKeep = []media.Span{{Start: 40 * time.Second, End: time.Minute}, {Start: 10 * time.Second, End: 30 * time.Second}}

// TestRetimeGolden: a Latin-1 SRT (CRLF, italics, a {\an8} position) with cues before the first
// kept range, straddling a cut, inside kept material, split by a removed middle range, wholly
// removed, past the end -> the exact WebVTT the replay gets.
func TestRetimeGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/retime_latin1.srt")
	if err != nil {
		t.Fatal(err)
	}
	subs, err := Parse(data, "fr.srt")
	if err != nil {
		t.Fatal(err)
	}
	out, err := VTT(Retime(subs, goldenKeep))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "retime_latin1.golden.vtt", out)
}

func cue(start, end time.Duration, text string) *astisub.Item {
	return &astisub.Item{StartAt: start, EndAt: end, Lines: []astisub.Line{{Items: []astisub.LineItem{{Text: text}}}}}
}

func TestRetime(t *testing.T) {
	s := time.Second
	ms := time.Millisecond
	type c struct {
		start, end time.Duration
		text       string
	}
	tests := []struct {
		name string
		in   []c
		keep []media.Span
		want []c
	}{
		{"no edit copies", []c{{1 * s, 2 * s, "a"}}, nil, []c{{1 * s, 2 * s, "a"}}},
		{"kept shifted", []c{{12 * s, 14 * s, "a"}}, []media.Span{{Start: 10 * s, End: 20 * s}}, []c{{2 * s, 4 * s, "a"}}},
		{"wholly removed", []c{{2 * s, 4 * s, "a"}}, []media.Span{{Start: 10 * s, End: 20 * s}}, nil},
		{"straddles start", []c{{8 * s, 12 * s, "a"}}, []media.Span{{Start: 10 * s, End: 20 * s}}, []c{{0, 2 * s, "a"}}},
		{"straddles end", []c{{19 * s, 25 * s, "a"}}, []media.Span{{Start: 10 * s, End: 20 * s}}, []c{{9 * s, 10 * s, "a"}}},
		{"removed middle: one cue", []c{{8 * s, 14 * s, "a"}}, []media.Span{{Start: 0, End: 10 * s}, {Start: 12 * s, End: 20 * s}}, []c{{8 * s, 12 * s, "a"}}},
		{"across three spans", []c{{1 * s, 9 * s, "a"}}, []media.Span{{Start: 0, End: 2 * s}, {Start: 4 * s, End: 5 * s}, {Start: 8 * s, End: 10 * s}}, []c{{1 * s, 4 * s, "a"}}},
		{"remnant too short", []c{{9950 * ms, 11 * s, "a"}}, []media.Span{{Start: 0, End: 10 * s}}, nil},
		{"short but uncut cue kept", []c{{1 * s, 1*s + 50*ms, "a"}}, []media.Span{{Start: 0, End: 10 * s}}, []c{{1 * s, 1*s + 50*ms, "a"}}},
		{"overlapping spans merged", []c{{5 * s, 15 * s, "a"}}, []media.Span{{Start: 8 * s, End: 20 * s}, {Start: 0, End: 10 * s}}, []c{{5 * s, 15 * s, "a"}}},
		{"order kept", []c{{1 * s, 3 * s, "a"}, {2 * s, 4 * s, "b"}, {30 * s, 31 * s, "c"}}, []media.Span{{Start: 0, End: 10 * s}, {Start: 25 * s, End: 35 * s}},
			[]c{{1 * s, 3 * s, "a"}, {2 * s, 4 * s, "b"}, {15 * s, 16 * s, "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := astisub.NewSubtitles()
			for _, x := range tt.in {
				in.Items = append(in.Items, cue(x.start, x.end, x.text))
			}
			before, _ := VTT(in)
			out := Retime(in, tt.keep)
			if after, _ := VTT(in); !bytes.Equal(before, after) {
				t.Errorf("Retime changed its input")
			}
			var got []c
			for _, it := range out.Items {
				got = append(got, c{it.StartAt, it.EndAt, PlainText(it)})
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("cue %d: got %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestRetimeInlineTimestamps(t *testing.T) {
	it := cue(8*time.Second, 14*time.Second, "a")
	it.Lines[0].Items = append(it.Lines[0].Items,
		astisub.LineItem{Text: "removed", StartAt: 11 * time.Second},
		astisub.LineItem{Text: "kept", StartAt: 13 * time.Second})
	in := &astisub.Subtitles{Items: []*astisub.Item{it}}
	out := Retime(in, []media.Span{{Start: 0, End: 10 * time.Second}, {Start: 12 * time.Second, End: 20 * time.Second}})
	items := out.Items[0].Lines[0].Items
	if items[1].StartAt != 0 || items[2].StartAt != 11*time.Second {
		t.Errorf("inline timestamps: %s %s, want 0 (dropped) and 11s", items[1].StartAt, items[2].StartAt)
	}
	if it.Lines[0].Items[2].StartAt != 13*time.Second {
		t.Errorf("input changed")
	}
}

// FuzzRetime checks the invariants of Retime on arbitrary cues and edit lists: every output cue
// maps back onto kept source material inside its own original cue, none ends before it starts or
// lies past the end of the replay, and no kept material of a cue is lost (unless the remnant is
// too short to read).
func FuzzRetime(f *testing.F) {
	f.Add([]byte{0, 10, 0, 50, 0, 80, 1, 0}, []byte{0, 20, 0, 40, 0, 70, 0, 90})
	f.Add([]byte{0, 1, 0, 200}, []byte{0, 50, 0, 60, 0, 100, 0, 10})
	f.Fuzz(func(t *testing.T, cueData, spanData []byte) {
		// Every 4 bytes: two big-endian uint16 in units of 10 ms (start, length).
		pairs := func(b []byte) [][2]time.Duration {
			var out [][2]time.Duration
			for len(b) >= 4 && len(out) < 64 {
				a := time.Duration(binary.BigEndian.Uint16(b)) * 10 * time.Millisecond
				l := time.Duration(binary.BigEndian.Uint16(b[2:])) * 10 * time.Millisecond
				out = append(out, [2]time.Duration{a, a + l})
				b = b[4:]
			}
			return out
		}
		in := astisub.NewSubtitles()
		for i, p := range pairs(cueData) {
			if p[1] <= p[0] {
				continue
			}
			it := cue(p[0], p[1], strconv.Itoa(i))
			it.Comments = []string{strconv.Itoa(len(in.Items))}
			in.Items = append(in.Items, it)
		}
		var keep []media.Span
		for _, p := range pairs(spanData) {
			keep = append(keep, media.Span{Start: p[0], End: p[1]})
		}
		if len(keep) == 0 {
			return
		}
		spans := NormalizeSpans(keep)
		total := KeptDuration(keep)
		out := Retime(in, keep)

		// source pieces of a replay interval
		unmap := func(s, e time.Duration) []media.Span {
			var pieces []media.Span
			var off time.Duration
			for _, k := range spans {
				l := k.End - k.Start
				if ps, pe := max(s, off), min(e, off+l); pe > ps {
					pieces = append(pieces, media.Span{Start: k.Start + ps - off, End: k.Start + pe - off})
				}
				off += l
			}
			return pieces
		}
		seen := map[int]bool{}
		var last time.Duration
		for _, it := range out.Items {
			if it.EndAt <= it.StartAt || it.StartAt < 0 || it.EndAt > total {
				t.Fatalf("cue %s-%s out of [0, %s] or backwards", it.StartAt, it.EndAt, total)
			}
			if it.StartAt < last {
				t.Fatalf("cues out of order")
			}
			last = it.StartAt
			idx, _ := strconv.Atoi(it.Comments[0])
			seen[idx] = true
			orig := in.Items[idx]
			var d time.Duration
			for _, p := range unmap(it.StartAt, it.EndAt) {
				if p.Start < orig.StartAt || p.End > orig.EndAt {
					t.Fatalf("cue %s-%s maps back to %s-%s, outside its source cue %s-%s", it.StartAt, it.EndAt, p.Start, p.End, orig.StartAt, orig.EndAt)
				}
				d += p.End - p.Start
			}
			if d != it.EndAt-it.StartAt {
				t.Fatalf("cue %s-%s covers removed material", it.StartAt, it.EndAt)
			}
		}
		// ToSource is the inverse: mapping the output back and re-timing it again gives it back.
		back := Retime(ToSource(out, keep), keep)
		var long []*astisub.Item
		for _, it := range out.Items {
			if it.EndAt-it.StartAt >= MinClippedCue {
				long = append(long, it)
			}
		}
		j := 0
		for _, it := range back.Items {
			if j < len(long) && it.StartAt == long[j].StartAt && it.EndAt == long[j].EndAt {
				j++
			}
		}
		if j != len(long) {
			t.Fatalf("Retime(ToSource(x)) lost or moved cues: %d of %d found", j, len(long))
		}
		for i, orig := range in.Items {
			var kept time.Duration
			for _, k := range spans {
				kept += max(0, min(orig.EndAt, k.End)-max(orig.StartAt, k.Start))
			}
			whole := kept == orig.EndAt-orig.StartAt
			if want := kept > 0 && (whole || kept >= MinClippedCue); want != seen[i] {
				t.Fatalf("cue %d (%s-%s, %s kept): present=%v, want %v", i, orig.StartAt, orig.EndAt, kept, seen[i], want)
			}
		}
	})
}
