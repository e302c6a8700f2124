package web

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/schedule"
)

// headTags is what a page's <head> tells crawlers: meta property/name -> content, and the
// alternate links by type.
type headTags struct {
	meta       map[string]string
	alternates map[string][]string // type -> hrefs
}

func parseHead(t *testing.T, body string) headTags {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	h := headTags{meta: map[string]string{}, alternates: map[string][]string{}}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			a := map[string]string{}
			for _, at := range n.Attr {
				a[at.Key] = at.Val
			}
			switch {
			case n.Data == "meta" && a["property"] != "":
				h.meta[a["property"]] = a["content"]
			case n.Data == "meta" && a["name"] != "":
				h.meta[a["name"]] = a["content"]
			case n.Data == "link" && a["rel"] == "alternate":
				h.alternates[a["type"]] = append(h.alternates[a["type"]], a["href"])
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return h
}

// testJPEG is a real JPEG of w×h (a poster as the pipeline would store it).
func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := 0; x < w; x++ {
		for y := 0; y < h; y++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// seedReach adds a published replay with a poster and a video, an unlisted one, a draft and a
// workshop to the fixture.
func seedReach(t *testing.T, f *siteFixture) (ws *schedule.Workshop) {
	t.Helper()
	ctx := context.Background()
	if _, err := f.cat.CreateSoftware(ctx, catalog.NewSoftware{Slug: "nextcloud", Name: "Nextcloud"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cat.AddRelease(ctx, "nextcloud", catalog.NewRelease{Version: "27.0.0", ReleasedAt: "2023-06-12"}); err != nil {
		t.Fatal(err)
	}
	for _, rp := range []catalog.NewReplay{
		{ID: "pub1", Title: "Share files with Nextcloud", Description: "Links, passwords and expiry dates.", Language: "en",
			Documents: []catalog.Tag{{Software: "nextcloud", Version: "27.1.4"}}, PublishWhenReady: true},
		{ID: "unl1", Title: "Unlisted replay", Language: "en", PublishWhenReady: true},
		{ID: "drf1", Title: "Secret draft", Language: "en"},
	} {
		if err := f.cat.CreateReplay(ctx, rp); err != nil {
			t.Fatal(err)
		}
		if err := f.cat.SetProcessing(ctx, rp.ID, catalog.Ready, 6000); err != nil {
			t.Fatal(err)
		}
		for key, b := range map[string][]byte{"poster.jpg": testJPEG(t, 320, 180), "video.mp4": []byte("not really a video")} {
			if _, err := f.media.Put(ctx, "replays/"+rp.ID+"/"+key, bytes.NewReader(b), int64(len(b)), ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.cat.UpdateReplay(ctx, "unl1", catalog.ReplayUpdate{Publication: ptr(string(catalog.Unlisted))}); err != nil {
		t.Fatal(err)
	}
	ws = &schedule.Workshop{Title: "Nextcloud for associations", Description: "Bring your laptop.", StartsAt: "2099-03-24T18:00:00",
		Timezone: "Europe/Paris", Duration: "PT1H30M", Language: "fr", Status: "confirmed",
		Documents: []schedule.Document{{Software: "nextcloud", Version: "28"}}}
	if err := f.sched.Create(ctx, ws, "test"); err != nil {
		t.Fatal(err)
	}
	return ws
}

func ptr[T any](v T) *T { return &v }

// fetchImage asks for an og:image and checks that a crawler gets a raster image.
func fetchImage(t *testing.T, c *http.Client, u string) image.Config {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("image %s: status %d", u, resp.StatusCode)
	}
	ct := resp.Header.Get("Content-Type")
	if ct != "image/png" && ct != "image/jpeg" {
		t.Fatalf("image %s: Content-Type %q, want a raster social networks accept", u, ct)
	}
	cfg, format, err := image.DecodeConfig(resp.Body)
	if err != nil || "image/"+format != ct {
		t.Fatalf("image %s: %v (decoded %q, Content-Type %q)", u, err, format, ct)
	}
	return cfg
}

func TestLinkPreviews(t *testing.T) {
	f := newSiteFixture(t)
	ws := seedReach(t, f)
	c := f.srv.Client()
	base := f.srv.URL

	tests := []struct {
		name, path, lang          string
		typ, title                string
		image                     string // prefix of og:image
		imageW, imageH            int
		video                     bool
		noindex                   bool
		feeds                     []string // alternate hrefs the page must announce
		wantLocale, wantAltLocale string
	}{
		{name: "home", path: "/", typ: "website", title: "Atelier", image: base + "/card.png?lang=en", imageW: cardWidth, imageH: cardHeight,
			feeds: []string{base + "/replays.atom", base + "/podcast.rss", base + "/workshops.atom"}, wantLocale: "en_US", wantAltLocale: "fr_FR"},
		{name: "home in French", path: "/", lang: "fr", typ: "website", title: "Atelier", image: base + "/card.png?lang=fr", imageW: cardWidth, imageH: cardHeight,
			wantLocale: "fr_FR", wantAltLocale: "en_US"},
		{name: "workshops", path: "/workshops", typ: "website", title: "Workshops · Atelier", image: base + "/card.png", imageW: cardWidth, imageH: cardHeight,
			feeds: []string{base + "/workshops.atom"}},
		{name: "replays", path: "/replays", typ: "website", title: "Replays · Atelier", image: base + "/card.png", imageW: cardWidth, imageH: cardHeight,
			feeds: []string{base + "/replays.atom", base + "/podcast.rss"}},
		{name: "replays of a software", path: "/replays?software=nextcloud", typ: "website", title: "Replays · Atelier", image: base + "/card.png",
			imageW: cardWidth, imageH: cardHeight, feeds: []string{base + "/software/nextcloud/replays.atom"}},
		{name: "workshop", path: "/workshops/" + ws.ID, typ: "event", title: "Nextcloud for associations",
			image: base + "/workshops/" + ws.ID + "/card.png", imageW: cardWidth, imageH: cardHeight,
			feeds: []string{base + "/workshops.atom", base + "/calendar/software/nextcloud.ics"}},
		{name: "workshop in French", path: "/workshops/" + ws.ID, lang: "fr", typ: "event", title: "Nextcloud for associations",
			image: base + "/workshops/" + ws.ID + "/card.png?lang=fr", imageW: cardWidth, imageH: cardHeight, wantLocale: "fr_FR"},
		{name: "software", path: "/software/nextcloud", typ: "website", title: "Nextcloud · Atelier",
			image: base + "/software/nextcloud/card.png", imageW: cardWidth, imageH: cardHeight,
			feeds: []string{base + "/software/nextcloud/replays.atom", base + "/software/nextcloud/workshops.atom", base + "/calendar/software/nextcloud.ics"}},
		{name: "replay", path: "/replays/pub1", typ: "video.other", title: "Share files with Nextcloud",
			image: base + "/replays/pub1/poster.jpg", imageW: 320, imageH: 180, video: true,
			feeds: []string{base + "/replays.atom", base + "/software/nextcloud/replays.atom", base + "/replays.atom?language=en"}},
		{name: "unlisted replay", path: "/replays/unl1", typ: "video.other", title: "Unlisted replay",
			image: base + "/replays/unl1/poster.jpg", imageW: 320, imageH: 180, video: true, noindex: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.lang != "" {
				hdr = []string{"Accept-Language", tc.lang}
			}
			resp, body := get(t, c, base+tc.path, hdr...)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			h := parseHead(t, body)
			m := h.meta
			if m["og:type"] != tc.typ {
				t.Errorf("og:type %q, want %q", m["og:type"], tc.typ)
			}
			if m["og:title"] != tc.title || m["twitter:title"] != tc.title {
				t.Errorf("og:title %q twitter:title %q, want %q", m["og:title"], m["twitter:title"], tc.title)
			}
			if m["og:description"] == "" || m["og:description"] != m["twitter:description"] {
				t.Errorf("description %q / %q", m["og:description"], m["twitter:description"])
			}
			wantURL := base + strings.SplitN(tc.path, "?", 2)[0]
			if m["og:url"] != wantURL {
				t.Errorf("og:url %q, want %q", m["og:url"], wantURL)
			}
			if m["og:site_name"] != "Atelier" {
				t.Errorf("og:site_name %q", m["og:site_name"])
			}
			if !strings.HasPrefix(m["og:image"], tc.image) || m["twitter:image"] != m["og:image"] {
				t.Fatalf("og:image %q twitter:image %q, want %q…", m["og:image"], m["twitter:image"], tc.image)
			}
			if cfg := fetchImage(t, c, m["og:image"]); cfg.Width != tc.imageW || cfg.Height != tc.imageH {
				t.Errorf("og:image is %dx%d, want %dx%d", cfg.Width, cfg.Height, tc.imageW, tc.imageH)
			}
			if tc.wantLocale != "" && (m["og:locale"] != tc.wantLocale || m["og:locale:alternate"] == "") {
				t.Errorf("og:locale %q (alternate %q), want %q", m["og:locale"], m["og:locale:alternate"], tc.wantLocale)
			}
			if tc.wantAltLocale != "" && m["og:locale:alternate"] != tc.wantAltLocale {
				t.Errorf("og:locale:alternate %q, want %q", m["og:locale:alternate"], tc.wantAltLocale)
			}
			if tc.video {
				if m["og:video"] != wantURL+"/video.mp4" || m["og:video:type"] != "video/mp4" {
					t.Errorf("og:video %q (%q)", m["og:video"], m["og:video:type"])
				}
				if r, _ := get(t, c, m["og:video"]); r.StatusCode != 200 || r.Header.Get("Content-Type") != "video/mp4" {
					t.Errorf("og:video answers %d %q", r.StatusCode, r.Header.Get("Content-Type"))
				}
				if m["twitter:card"] != "player" || m["twitter:player"] != wantURL+"/embed" {
					t.Errorf("twitter:card %q player %q", m["twitter:card"], m["twitter:player"])
				}
				oe := h.alternates["application/json+oembed"]
				if len(oe) != 1 || !strings.Contains(oe[0], url.QueryEscape(wantURL)) {
					t.Errorf("oEmbed discovery %q", oe)
				}
			} else if _, ok := m["og:video"]; ok || m["twitter:card"] != "summary_large_image" {
				t.Errorf("og:video %q twitter:card %q on a page without a video", m["og:video"], m["twitter:card"])
			}
			robots := m["robots"] == "noindex" && resp.Header.Get("X-Robots-Tag") == "noindex"
			if robots != tc.noindex {
				t.Errorf("noindex: meta %q header %q, want %v", m["robots"], resp.Header.Get("X-Robots-Tag"), tc.noindex)
			}
			hrefs := strings.Join(append(append(h.alternates["application/atom+xml"], h.alternates["application/rss+xml"]...), h.alternates["text/calendar"]...), " ")
			for _, want := range tc.feeds {
				if !strings.Contains(hrefs, want) {
					t.Errorf("no <link rel=alternate> to %s (has %s)", want, hrefs)
				}
			}
			// Main pages are never framed.
			if xfo := resp.Header.Get("X-Frame-Options"); xfo != "DENY" {
				t.Errorf("X-Frame-Options %q", xfo)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("CSP %q", csp)
			}
		})
	}

	t.Run("a draft has no preview", func(t *testing.T) {
		resp, body := get(t, c, base+"/replays/drf1", "Authorization", "Bearer "+f.token)
		if resp.StatusCode != 200 {
			t.Fatalf("the animator's draft: %d", resp.StatusCode)
		}
		h := parseHead(t, body)
		for k := range h.meta {
			if strings.HasPrefix(k, "og:") || strings.HasPrefix(k, "twitter:") || k == "description" {
				t.Errorf("draft page has %s=%q", k, h.meta[k])
			}
		}
		if len(h.alternates["application/json+oembed"]) > 0 || h.meta["robots"] != "noindex" || resp.Header.Get("X-Robots-Tag") != "noindex" {
			t.Errorf("draft: oEmbed %v, robots %q", h.alternates["application/json+oembed"], h.meta["robots"])
		}
		if !strings.Contains(body, "<title>Secret draft · Atelier</title>") {
			t.Errorf("the animator sees the draft's page")
		}
		if resp, _ := get(t, c, base+"/replays/drf1"); resp.StatusCode != 404 {
			t.Errorf("draft for the public: %d", resp.StatusCode)
		}
		if resp, _ := get(t, c, base+"/replays/drf1/embed"); resp.StatusCode != 404 {
			t.Errorf("draft embed for the public: %d", resp.StatusCode)
		}
	})

	t.Run("the embed may be framed, and only it", func(t *testing.T) {
		resp, body := get(t, c, base+"/replays/pub1/embed")
		if resp.StatusCode != 200 {
			t.Fatalf("embed: %d", resp.StatusCode)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors *;") || resp.Header.Get("X-Frame-Options") != "" {
			t.Errorf("embed CSP %q, X-Frame-Options %q", csp, resp.Header.Get("X-Frame-Options"))
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(body, "<script>") {
			t.Errorf("inline script allowed or used: %q", csp)
		}
		for _, want := range []string{`id="player"`, `src="/replays/pub1/video.mp4"`, `/static/embed.js`, `<body class="embed">`} {
			if !strings.Contains(body, want) {
				t.Errorf("embed lacks %q", want)
			}
		}
		if strings.Contains(body, `class="top"`) {
			t.Errorf("the embed carries the site header")
		}
	})

	t.Run("cards", func(t *testing.T) {
		// A card is drawn from its text: English and French differ, the same text is cached.
		en, _ := get(t, c, base+"/workshops/"+ws.ID+"/card.png?lang=en")
		fr, _ := get(t, c, base+"/workshops/"+ws.ID+"/card.png?lang=fr")
		if en.Header.Get("ETag") == "" || en.Header.Get("ETag") == fr.Header.Get("ETag") {
			t.Errorf("ETags %q %q: want one per text", en.Header.Get("ETag"), fr.Header.Get("ETag"))
		}
		resp, _ := get(t, c, base+"/workshops/"+ws.ID+"/card.png?lang=en", "If-None-Match", en.Header.Get("ETag"))
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("revalidation: %d", resp.StatusCode)
		}
		if resp, _ := get(t, c, base+"/workshops/nope/card.png"); resp.StatusCode != 404 {
			t.Errorf("unknown workshop card: %d", resp.StatusCode)
		}
	})
}

func TestOEmbed(t *testing.T) {
	f := newSiteFixture(t)
	seedReach(t, f)
	c := f.srv.Client()
	base := f.srv.URL
	ask := func(u string, extra ...string) (*http.Response, string) {
		q := url.Values{"url": {u}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return get(t, c, base+"/oembed?"+q.Encode())
	}
	t.Run("published", func(t *testing.T) {
		resp, body := ask(base+"/replays/pub1", "format", "json")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		var o map[string]any
		if err := json.Unmarshal([]byte(body), &o); err != nil {
			t.Fatal(err)
		}
		if o["version"] != "1.0" || o["type"] != "video" || o["title"] != "Share files with Nextcloud" || o["provider_name"] != "Atelier" ||
			o["width"] != float64(640) || o["height"] != float64(360) {
			t.Errorf("oEmbed %v", o)
		}
		htm, _ := o["html"].(string)
		doc, err := html.Parse(strings.NewReader(htm))
		if err != nil {
			t.Fatal(err)
		}
		var src string
		var find func(*html.Node)
		find = func(n *html.Node) {
			if n.Type == html.ElementNode && n.Data == "iframe" {
				for _, a := range n.Attr {
					if a.Key == "src" {
						src = a.Val
					}
				}
			}
			for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
				find(ch)
			}
		}
		find(doc)
		if src != base+"/replays/pub1/embed" {
			t.Errorf("iframe src %q in %q", src, htm)
		}
		if r, _ := get(t, c, src); r.StatusCode != 200 {
			t.Errorf("the embed answers %d", r.StatusCode)
		}
		if cfg := fetchImage(t, c, o["thumbnail_url"].(string)); float64(cfg.Width) != o["thumbnail_width"] || float64(cfg.Height) != o["thumbnail_height"] {
			t.Errorf("thumbnail %dx%d, oEmbed says %vx%v", cfg.Width, cfg.Height, o["thumbnail_width"], o["thumbnail_height"])
		}
	})
	t.Run("maxwidth and the embed URL itself", func(t *testing.T) {
		resp, body := ask(base+"/replays/pub1/embed", "maxwidth", "320")
		var o struct{ Width, Height int }
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &o) != nil || o.Width != 320 || o.Height != 180 {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	for _, tc := range []struct {
		name   string
		url    string
		extra  []string
		status int
		field  string
	}{
		{name: "draft", url: base + "/replays/drf1", status: 404},
		{name: "unlisted, asked by its own link", url: base + "/replays/unl1", status: 200},
		{name: "unknown replay", url: base + "/replays/nope", status: 404},
		{name: "another site", url: "https://elsewhere.example/replays/pub1", status: 404},
		{name: "not a replay", url: base + "/workshops", status: 404},
		{name: "no url", url: "", status: 422, field: "url"},
		{name: "relative url", url: "/replays/pub1", status: 422, field: "url"},
		{name: "xml", url: base + "/replays/pub1", extra: []string{"format", "xml"}, status: 501},
		{name: "bad maxwidth", url: base + "/replays/pub1", extra: []string{"maxwidth", "-3"}, status: 422, field: "maxwidth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ask(tc.url, tc.extra...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.field != "" {
				var e struct{ Error, Field string }
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Field != tc.field || e.Error == "" {
					t.Errorf("error body %s, want field %q", body, tc.field)
				}
			}
			if tc.status == 404 && strings.Contains(body, "Secret draft") {
				t.Errorf("the 404 leaks the draft: %s", body)
			}
		})
	}
}

func TestEmbedOrigins(t *testing.T) {
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"*", true}, {"'self'", true}, {"https:", true}, {"https://docs.example.org", true}, {"https://*.example.org:8443", true},
		{"http://127.0.0.1:8080", true},
		{"docs.example.org", false}, {"https://docs.example.org/wiki", false}, {"https://a.*.org", false},
		{"ftp://x.org", false}, {"https://x.org; script-src *", false}, {"'none' https://x.org", false},
	} {
		if err := ValidEmbedOrigin(tc.origin); (err == nil) != tc.ok {
			t.Errorf("ValidEmbedOrigin(%q) = %v, want ok=%v", tc.origin, err, tc.ok)
		}
	}
	f := newSiteFixture(t)
	seedReach(t, f)
	site, err := New(Options{Media: f.media, Auth: f.auth, Secret: []byte("0123456789abcdef0123"), PublicURL: f.srv.URL,
		Catalog: f.cat, Schedule: f.sched, EmbedOrigins: []string{"https://docs.example.org", "'self'"}})
	if err != nil {
		t.Fatal(err)
	}
	f.site.embedAncestors = site.embedAncestors
	resp, _ := get(t, f.srv.Client(), f.srv.URL+"/replays/pub1/embed")
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors https://docs.example.org 'self';") {
		t.Errorf("CSP %q", csp)
	}
	if _, err := New(Options{Media: f.media, Secret: []byte("0123456789abcdef0123"), EmbedOrigins: []string{"docs.example.org"}}); err == nil {
		t.Errorf("a bad origin is accepted")
	}
}
