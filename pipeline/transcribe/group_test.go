package transcribe

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/pipeline/subtitle"
)

// words makes words of the given texts, each lasting step, back to back from start.
func words(start, step time.Duration, texts ...string) []Word {
	var ws []Word
	for _, t := range texts {
		ws = append(ws, Word{Text: t, Start: start, End: start + step})
		start += step
	}
	return ws
}

func TestGroupWords(t *testing.T) {
	ms := time.Millisecond
	s := time.Second
	long := strings.Fields("this sentence is long enough to need more than one line and also more than two full lines of text so it splits into cues")
	tests := []struct {
		name  string
		words []Word
		want  []string // "start-end text" with lines joined by |
	}{
		{"empty", nil, nil},
		{"short held to one second", words(2*s, 200*ms, "hello", "world"), []string{"2s-3s hello world"}},
		{"two lines", words(0, 300*ms, long[:12]...), []string{
			"0s-3.6s this sentence is long enough to need more|than one line and"}},
		{"over two lines splits", words(0, 200*ms, long...), []string{
			"0s-3.4s this sentence is long enough to need more|than one line and also more than two full",
			"3.4s-5s lines of text so it splits into cues"}},
		{"pause splits", append(words(0, 300*ms, "first", "phrase"), words(3*s, 300*ms, "second", "phrase")...), []string{
			"0s-1s first phrase", "3s-4s second phrase"}},
		{"max duration splits", words(0, 2*s, "slow", "words", "spoken", "one", "by", "one"), []string{
			"0s-6s slow words spoken", "6s-12s one by one"}},
		{"min duration stops at next cue", append(words(0, 200*ms, "a"), words(1400*ms, 4*s, "b", "c")...), []string{
			"0s-1s a", "1.4s-5.4s b", "5.4s-9.4s c"}},
		{"next cue after a pause", append(words(0, 200*ms, "a"), Word{"b", 1200 * ms, 1500 * ms}, Word{"c", 2900 * ms, 3000 * ms}), []string{
			"0s-1s a", "1.2s-2.2s b", "2.9s-3.9s c"}},
		{"min duration limited by next cue", words(0, 20*ms, long...), []string{
			"0s-340ms this sentence is long enough to need more|than one line and also more than two full",
			"340ms-1.34s lines of text so it splits into cues"}},
		{"close words stay together", []Word{{"a", 0, 200 * ms}, {"b", 700 * ms, 900 * ms}, {"c", 900 * ms, 1000 * ms}},
			[]string{"0s-1s a b c"}},
		{"long word cut to max", []Word{{"mmmmmmmm", 0, 9 * s}}, []string{"0s-7s mmmmmmmm"}},
		{"blank words skipped", []Word{{" ", 0, s}, {"ok", s, 2 * s}}, []string{"1s-2s ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subs := GroupWords(tt.words, Limits{})
			var got []string
			for _, it := range subs.Items {
				got = append(got, fmt.Sprintf("%s-%s %s", it.StartAt, it.EndAt, strings.ReplaceAll(subtitle.PlainText(it), "\n", "|")))
				for _, l := range it.Lines {
					if n := len([]rune(l.String())); n > 42 {
						t.Errorf("line of %d chars: %q", n, l.String())
					}
				}
				if len(it.Lines) > 2 {
					t.Errorf("%d lines", len(it.Lines))
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
