package transcribe

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/asticode/go-astisub"
	"golang.org/x/text/language"
)

// Pocketsphinx transcribes English speech offline with CMU PocketSphinx and its default US English
// model. Two command-line interfaces exist and both are read:
//   - pocketsphinx 5.x: "pocketsphinx single FILE.wav" prints one JSON object per utterance with
//     word timings, {"b":start,"d":duration,"t":text,"w":[{"b","d","t"},...]};
//   - pocketsphinx 0.8 (Debian bookworm's package): "pocketsphinx_continuous -infile FILE.wav
//     -time yes" prints each utterance's text, then one "word start end confidence" line per word.
//
// The 5.x command is used when it is on PATH, otherwise the 0.8 one.
type Pocketsphinx struct {
	// Limits shape the cues; the zero value means DefaultLimits.
	Limits Limits
}

var _ Transcriber = (*Pocketsphinx)(nil)

// Transcribe implements Transcriber. Languages other than English get ErrUnsupportedLang.
func (p *Pocketsphinx) Transcribe(ctx context.Context, audioWAV, lang string) (*astisub.Subtitles, error) {
	if t, err := language.Parse(lang); err != nil {
		return nil, fmt.Errorf("transcribe: pocketsphinx: %q: %w", lang, ErrUnsupportedLang)
	} else if base, _ := t.Base(); base.String() != "en" {
		return nil, fmt.Errorf("transcribe: pocketsphinx: %q: %w", lang, ErrUnsupportedLang)
	}
	var words []Word
	if _, err := exec.LookPath("pocketsphinx"); err == nil {
		out, err := run(ctx, "pocketsphinx", []string{"-loglevel", "ERROR", "single", audioWAV}, nil)
		if err != nil {
			return nil, fmt.Errorf("transcribe: %w", err)
		}
		if words, err = ParsePocketsphinxJSON(out); err != nil {
			return nil, err
		}
	} else {
		out, err := run(ctx, "pocketsphinx_continuous", []string{"-infile", audioWAV, "-time", "yes", "-logfn", "/dev/null"}, nil)
		if err != nil {
			return nil, fmt.Errorf("transcribe: %w", err)
		}
		words = ParsePocketsphinxTimes(out)
	}
	if len(words) == 0 {
		return nil, ErrNoSpeech
	}
	return GroupWords(words, p.Limits), nil
}

// reAlt is the pronunciation variant PocketSphinx appends to a word: "the(2)".
var reAlt = regexp.MustCompile(`\(\d+\)$`)

// cleanWord returns the word to show, or "" for fillers and markers: <s>, </s>, <sil>, [NOISE],
// ++GARBAGE++.
func cleanWord(w string) string {
	w = reAlt.ReplaceAllString(strings.TrimSpace(w), "")
	if w == "" || strings.HasPrefix(w, "<") || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "++") {
		return ""
	}
	return w
}

func seconds(s float64) time.Duration {
	if math.IsNaN(s) || s < 0 || s > 1e6 {
		return 0
	}
	return time.Duration(math.Round(s * float64(time.Second)))
}

// ParsePocketsphinxTimes reads the output of "pocketsphinx_continuous -time yes": lines of
// "word start end confidence" (seconds), interleaved with the utterance texts, which are skipped.
func ParsePocketsphinxTimes(out []byte) []Word {
	var words []Word
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			continue
		}
		var nums [3]float64
		ok := true
		for i := range nums {
			v, err := strconv.ParseFloat(f[i+1], 64)
			if err != nil {
				ok = false
				break
			}
			nums[i] = v
		}
		if !ok || nums[1] < nums[0] {
			continue
		}
		if w := cleanWord(f[0]); w != "" {
			words = append(words, Word{Text: w, Start: seconds(nums[0]), End: seconds(nums[1])})
		}
	}
	return words
}

// ParsePocketsphinxJSON reads the output of "pocketsphinx single": one JSON object per line and
// utterance, each with its words and their begin "b" and duration "d" in seconds.
func ParsePocketsphinxJSON(out []byte) ([]Word, error) {
	type seg struct {
		B float64 `json:"b"`
		D float64 `json:"d"`
		T string  `json:"t"`
		W []struct {
			B float64 `json:"b"`
			D float64 `json:"d"`
			T string  `json:"t"`
		} `json:"w"`
	}
	var words []Word
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var s seg
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("transcribe: pocketsphinx output: %w", err)
		}
		for _, w := range s.W {
			if t := cleanWord(w.T); t != "" && w.D >= 0 {
				words = append(words, Word{Text: t, Start: seconds(w.B), End: seconds(w.B + w.D)})
			}
		}
	}
	return words, nil
}
