package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/gorilla/mux"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// Link preview cards: the og:image of pages that have no poster (workshops, software, lists).
// Social networks want a raster image (PNG or JPEG, not SVG), about 1.91:1; cards are drawn
// here from the page's own text with the Go fonts, so no browser or ffmpeg is needed.
const (
	cardWidth, cardHeight = 1200, 630
	cardMargin            = 80
	cardCacheMax          = 256
)

// card is the text of one card.
type card struct {
	Kicker string   // small line above the title: the site, the kind of page
	Title  string   // large, up to three lines
	Lines  []string // details, one line each
	Footer string   // bottom line: the site's address
}

func (c card) key() string {
	h := sha256.New()
	for _, s := range append([]string{c.Kicker, c.Title, c.Footer}, c.Lines...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

var (
	cardFontsOnce sync.Once
	cardFonts     struct {
		kicker, title, line, footer font.Face
		err                         error
	}
)

func loadCardFonts() error {
	cardFontsOnce.Do(func() {
		bold, err := opentype.Parse(gobold.TTF)
		if err != nil {
			cardFonts.err = err
			return
		}
		regular, err := opentype.Parse(goregular.TTF)
		if err != nil {
			cardFonts.err = err
			return
		}
		face := func(f *opentype.Font, size float64) font.Face {
			if cardFonts.err != nil {
				return nil
			}
			ff, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
			if err != nil {
				cardFonts.err = err
			}
			return ff
		}
		cardFonts.kicker = face(bold, 34)
		cardFonts.title = face(bold, 62)
		cardFonts.line = face(regular, 34)
		cardFonts.footer = face(regular, 28)
	})
	if cardFonts.err != nil {
		return fmt.Errorf("web: card fonts: %w", cardFonts.err)
	}
	return nil
}

var (
	cardBG     = color.RGBA{0xff, 0xff, 0xff, 0xff}
	cardAccent = color.RGBA{0x0b, 0x5c, 0xad, 0xff}
	cardFG     = color.RGBA{0x1d, 0x1f, 0x23, 0xff}
	cardMuted  = color.RGBA{0x4a, 0x50, 0x59, 0xff}
)

// drawCard renders c as a PNG. The font faces are shared, so drawing holds a lock: a card takes
// a few milliseconds and is cached.
var drawMu sync.Mutex

func drawCard(c card) ([]byte, error) {
	if err := loadCardFonts(); err != nil {
		return nil, err
	}
	drawMu.Lock()
	defer drawMu.Unlock()
	img := image.NewRGBA(image.Rect(0, 0, cardWidth, cardHeight))
	draw.Draw(img, img.Bounds(), image.NewUniform(cardBG), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(0, 0, cardWidth, 18), image.NewUniform(cardAccent), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(0, cardHeight-96, cardWidth, cardHeight), image.NewUniform(color.RGBA{0xf3, 0xf4, 0xf6, 0xff}), image.Point{}, draw.Src)
	width := fixed.I(cardWidth - 2*cardMargin)
	text := func(face font.Face, col color.Color, s string, y int) {
		d := &font.Drawer{Dst: img, Src: image.NewUniform(col), Face: face, Dot: fixed.P(cardMargin, y)}
		d.DrawString(fit(face, s, width))
	}
	y := 95
	text(cardFonts.kicker, cardAccent, c.Kicker, y)
	y += 90
	for _, l := range wrap(cardFonts.title, c.Title, width, 3) {
		text(cardFonts.title, cardFG, l, y)
		y += 72
	}
	y += 5
	for _, l := range c.Lines {
		if y > cardHeight-120 {
			break
		}
		text(cardFonts.line, cardMuted, l, y)
		y += 48
	}
	text(cardFonts.footer, cardMuted, c.Footer, cardHeight-38)
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("web: card: %w", err)
	}
	return buf.Bytes(), nil
}

// wrap breaks s into at most max lines that fit width; the last one is cut with an ellipsis.
func wrap(face font.Face, s string, width fixed.Int26_6, max int) []string {
	var lines []string
	line := ""
	words := strings.Fields(s)
	for i, w := range words {
		try := strings.TrimSpace(line + " " + w)
		if line != "" && font.MeasureString(face, try) > width {
			lines = append(lines, line)
			line = w
			if len(lines) == max-1 {
				line = strings.Join(words[i:], " ")
				break
			}
			continue
		}
		line = try
	}
	if line != "" {
		lines = append(lines, fit(face, line, width))
	}
	return lines
}

func faceWidth(face font.Face, s string) fixed.Int26_6 { return font.MeasureString(face, s) }

// fit cuts s with an ellipsis so that it fits width.
func fit(face font.Face, s string, width fixed.Int26_6) string {
	if font.MeasureString(face, s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && font.MeasureString(face, string(r)+"…") > width {
		r = r[:len(r)-1]
	}
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)*2/3 {
		cut = cut[:i] // end on a whole word when one is near
	}
	return strings.TrimRight(cut, " ,:;") + "…"
}

// cardCache keeps rendered cards by the hash of their text, so that a preview fetched by
// every instance of a federated network is drawn once.
type cardCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (cc *cardCache) get(c card) ([]byte, string, error) {
	k := c.key()
	cc.mu.Lock()
	b, ok := cc.m[k]
	cc.mu.Unlock()
	if ok {
		return b, k, nil
	}
	b, err := drawCard(c)
	if err != nil {
		return nil, "", err
	}
	cc.mu.Lock()
	if cc.m == nil || len(cc.m) >= cardCacheMax {
		cc.m = map[string][]byte{} // simple and bounded: a full cache starts again
	}
	cc.m[k] = b
	cc.mu.Unlock()
	return b, k, nil
}

// serveCard answers with the card's PNG; its ETag is the hash of its text.
func (s *Site) serveCard(w http.ResponseWriter, r *http.Request, c card) error {
	b, k, err := s.cards.get(c)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", `"`+k+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Language, Cookie")
	if r.Header.Get("If-None-Match") == `"`+k+`"` {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(b)
	return err
}

func (s *Site) cardFooter() string {
	if u, err := url.Parse(s.publicURL); err == nil && u.Host != "" {
		return u.Host
	}
	return s.siteName
}

// SiteCard is /card.png: the preview image of the home page and the lists.
func (s *Site) SiteCard(w http.ResponseWriter, r *http.Request) error {
	l := pickLang(w, r)
	return s.serveCard(w, r, card{Kicker: s.siteName, Title: l.T("site.tagline"),
		Lines: []string{l.T("card.site")}, Footer: s.cardFooter()})
}

// WorkshopCard is /workshops/{id}/card.png: title, date in the workshop's zone, software.
func (s *Site) WorkshopCard(w http.ResponseWriter, r *http.Request) error {
	ws, v, err := s.workshopOf(r)
	if err != nil {
		return err
	}
	l := pickLang(w, r)
	c := card{Kicker: s.siteName + " · " + l.T("card.workshop"), Title: ws.Title, Footer: s.cardFooter()}
	if !v.Start.IsZero() {
		c.Lines = append(c.Lines, formatDateTime(l, v.Start))
	}
	if string(ws.Status) == "cancelled" {
		c.Lines = append([]string{l.T("ws.status.cancelled")}, c.Lines...)
	}
	var sw []string
	for _, d := range v.Software {
		sw = append(sw, strings.TrimSpace(d.Name+" "+d.Version))
	}
	if len(sw) > 0 {
		c.Lines = append(c.Lines, strings.Join(sw, ", "))
	}
	if ws.Language != "" {
		c.Lines = append(c.Lines, l.LangName(ws.Language))
	}
	return s.serveCard(w, r, c)
}

// SoftwareCard is /software/{slug}/card.png: the software, its latest release.
func (s *Site) SoftwareCard(w http.ResponseWriter, r *http.Request) error {
	if s.catalog == nil {
		return fmt.Errorf("web: no catalog: %w", httpapi.ErrNotFound)
	}
	ctx := r.Context()
	sw, err := s.catalog.Software(ctx, mux.Vars(r)["slug"])
	if err != nil {
		return err
	}
	l := pickLang(w, r)
	c := card{Kicker: s.siteName, Title: sw.Name, Lines: []string{l.T("card.software")}, Footer: s.cardFooter()}
	if len(sw.Releases) > 0 {
		c.Lines = append(c.Lines, l.T("card.latest", sw.Releases[0].Version))
	}
	return s.serveCard(w, r, c)
}
