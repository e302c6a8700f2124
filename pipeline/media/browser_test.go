package media

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestCutPlaysInChromium: the smart cut's joins (parameter sets change
// between re-encoded and copied pieces) must not stop a browser's decoder —
// the note's PIPELINE_ERROR_DECODE pitfall; nor must the fast cut's joins,
// where the copied audio has a gap of up to one AAC frame.
func TestCutPlaysInChromium(t *testing.T) {
	for _, mode := range []CutMode{CutAccurate, CutFast} {
		t.Run(string(mode), func(t *testing.T) { cutPlaysInChromium(t, mode) })
	}
}

func cutPlaysInChromium(t *testing.T, mode CutMode) {
	src := testenv.Clip(t, clip12)
	dir := t.TempDir()
	if _, err := Cut(ctxT(t), src, []Span{{sec(1.3), sec(5.7)}, {sec(7.1), sec(11)}}, mode, filepath.Join(dir, "cut.mp4"), nil); err != nil {
		t.Fatal(err)
	}
	page := `<!doctype html><video id="v" src="cut.mp4" muted></video><script>
const v = document.getElementById("v"); window.result = "";
v.addEventListener("error", () => { window.result = "error: " + (v.error && v.error.message); });
v.addEventListener("ended", () => { window.result = "ended after " + v.getVideoPlaybackQuality().totalVideoFrames + " frames"; });
v.addEventListener("canplay", () => { v.playbackRate = 4; v.play(); }, {once: true});
</script>`
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	ctx := testenv.Browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/index.html")); err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.Run(ctx, chromedp.Poll[string](`window.result`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`"readyState=" + v.readyState + " time=" + v.currentTime + " canplay=" + v.canPlayType("video/mp4; codecs=avc1.64001e")`))
		t.Fatalf("playback did not finish (%s): %v", state, err)
	}
	t.Logf("chromium: %s", res)
	if len(res) < 5 || res[:5] != "ended" {
		t.Errorf("chromium: %s", fmt.Sprint(res))
	}
}
