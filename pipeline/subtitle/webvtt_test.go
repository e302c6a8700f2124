package subtitle

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// The files under testdata/webvtt are modelled on the web-platform-tests WebVTT parsing suite
// (webvtt/parsing/file-parsing): each one holds blocks a browser skips next to blocks it reads.
// TestWebVTTLikeChromium checks the cue counts below against Chromium itself.
var webvttCases = []struct {
	file     string
	cues     int
	texts    []string // the text of every cue, in order
	warnings []string // a substring of each warning, in order
}{
	{"ids-arrows.vtt", 6,
		[]string{"An id of only an arrow", "An id ending with an arrow", "An id of two arrows", "An id starting with an arrow", "An id with an arrow in the middle", "A plain id"},
		[]string{`line 3: cue id "-->" dropped`, `line 7: cue id "intro-->" dropped`, `line 11: cue id "-->-->" dropped`, `line 15: cue id "-->greeting" dropped`, `line 19: cue id "a --> b" dropped`}},
	{"regions-old-header.vtt", 2,
		[]string{"In the old top region", "In the old bottom region"},
		[]string{`line 5: cue setting "region:top" ignored: no REGION block`, `line 8: cue setting "region:bottom" ignored`}},
	{"regions-block.vtt", 2,
		[]string{"In a region defined by a REGION block", "In a region nobody defined"},
		[]string{`line 14: cue setting "region:nowhere" ignored`}},
	{"bad-timings.vtt", 3,
		[]string{"Good", "Good again", "Good at the end"},
		[]string{`line 8: malformed timing line "00:00:01,000 --> 00:00:02,000"`, `line 12: malformed timing line "0:02.000`, `line 19: block without a timing line`, `line 24: malformed timing line "00:00:05.00 `, `line 28: malformed timing line "00:61.000`}},
	{"settings.vtt", 3,
		[]string{"All valid", "All ignored, the cue stays", "Some valid"},
		[]string{`line 6: cue setting "garbage" ignored`, `line 6: cue setting "align:sideways" ignored`, `line 6: cue setting "line:abc" ignored`, `line 6: cue setting "size:150%" ignored`, `line 6: cue setting "position:" ignored`, `line 9: cue setting "foo:bar" ignored: unknown setting`}},
	{"blocks.vtt", 4,
		[]string{"First", "No blank line before this cue", "NOTE this line is cue text\nSTYLE so is this one", ""},
		[]string{`line 16: block without a timing line`, `line 18: STYLE block after the first cue skipped`}},
	{"newlines.vtt", 3, []string{"CRLF", "CR only", "LF"}, nil},
	{"header-cue.vtt", 2, []string{"A cue right under the header line", "Second"}, nil},
}

func TestWebVTTSkipsLikeBrowsers(t *testing.T) {
	for _, tt := range webvttCases {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "webvtt", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			subs, warnings, err := ParseWarn(data, tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, it := range subs.Items {
				texts = append(texts, PlainText(it))
			}
			if len(subs.Items) != tt.cues || !slices.Equal(texts, tt.texts) {
				t.Errorf("got %d cues %q, want %d %q", len(subs.Items), texts, tt.cues, tt.texts)
			}
			if len(warnings) != len(tt.warnings) {
				t.Errorf("got %d warnings %q, want %d", len(warnings), warnings, len(tt.warnings))
			}
			for i := range min(len(warnings), len(tt.warnings)) {
				if !strings.Contains(warnings[i].String(), tt.warnings[i]) {
					t.Errorf("warning %d: %q, want %q in it", i, warnings[i], tt.warnings[i])
				}
			}
			// What was kept survives the round trip through WriteVTT and a strict reader.
			vtt, err := VTT(subs)
			if err != nil {
				t.Fatal(err)
			}
			again, warnings, err := ParseWarn(vtt, "x.vtt")
			if err != nil || len(warnings) != 0 || len(again.Items) != tt.cues {
				t.Errorf("re-reading the written track: %d cues, warnings %q, %v\n%s", len(again.Items), warnings, err, vtt)
			}
		})
	}
}

func TestWebVTTNothingUsable(t *testing.T) {
	for name, data := range map[string]string{
		"only bad timings": "WEBVTT\n\n00:01,000 --> 00:02,000\nx\n\n1:02.000 --> 1:03.000\ny\n",
		"only ids":         "WEBVTT\n\n-->\n\nfoo-->\n",
		"backwards":        "WEBVTT\n\n00:05.000 --> 00:02.000\nx\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := ParseWarn([]byte(data), "x.vtt")
			pe, ok := err.(*ParseError)
			if !ok || !strings.HasPrefix(pe.Msg, "no cues found: line ") {
				t.Fatalf("got %v, want a *ParseError naming the first skipped line", err)
			}
		})
	}
}

// TestWebVTTLikeChromium is the oracle: Chromium reads every file of testdata/webvtt through a
// <track> element, and its TextTrack.cues.length must equal the number of cues Parse keeps.
func TestWebVTTLikeChromium(t *testing.T) {
	dir := filepath.Join("testdata", "webvtt")
	files, err := filepath.Glob(filepath.Join(dir, "*.vtt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no files in %s: %v", dir, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/vtt/", http.StripPrefix("/vtt/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/vtt; charset=utf-8")
		http.ServeFile(w, r, filepath.Join(dir, filepath.Base(r.URL.Path)))
	})))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><video id="v"></video>`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	browser := testenv.Browser(t)
	if err := chromedp.Do(browser, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			subs, _, err := ParseWarn(data, name)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(browser, 20*time.Second)
			defer cancel()
			// A hidden track loads without being shown; "load" fires once the whole file is parsed.
			got, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`new Promise((resolve, reject) => {
				const el = document.createElement("track");
				el.src = "/vtt/%s";
				el.addEventListener("load", () => resolve(el.track.cues.length));
				el.addEventListener("error", () => reject(new Error("track error")));
				document.getElementById("v").appendChild(el);
				el.track.mode = "hidden";
			})`, name), chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("chromium: %v", err)
			}
			if got != len(subs.Items) {
				t.Errorf("Chromium reads %d cues, Parse keeps %d", got, len(subs.Items))
			}
		})
	}
}

func TestVTTTimestamp(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"00:01.500":       1500 * time.Millisecond,
		"59:59.999":       59*time.Minute + 59999*time.Millisecond,
		"1:02:03.004":     time.Hour + 2*time.Minute + 3004*time.Millisecond,
		"00:00:00.000":    0,
		"100:00:00.000":   100 * time.Hour,
		"99999:00:00.000": MaxCueEnd + time.Second, // reported as past the bound, not overflowed
	} {
		got, rest, ok := parseVTTTimestamp(in + " rest")
		if !ok || got != want || rest != " rest" {
			t.Errorf("%q: %v %q %v, want %v", in, got, rest, ok, want)
		}
	}
	// Refused as the spec refuses them: a browser skips the cue.
	for _, in := range []string{"", "0:01.000", "00:1.000", "00:01,000", "00:01.00", "00:01.0000", "60:00.000", "00:60.000", "00:00:60.000", "00:60:00.000", "x00:01.000", "00:01"} {
		if _, _, ok := parseVTTTimestamp(in); ok {
			t.Errorf("%q accepted", in)
		}
	}
}
