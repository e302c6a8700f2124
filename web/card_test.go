package web

import (
	"bytes"
	"image/png"
	"testing"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

func TestWrapAndFit(t *testing.T) {
	if err := loadCardFonts(); err != nil {
		t.Fatal(err)
	}
	f, _ := opentype.Parse(gobold.TTF)
	face, _ := opentype.NewFace(f, &opentype.FaceOptions{Size: 62, DPI: 72})
	width := fixed.I(cardWidth - 2*cardMargin)
	long := "Nextcloud pour les associations : partager fichiers, agendas et contacts avec toute l’équipe du bureau et au-delà"
	lines := wrap(face, long, width, 3)
	if len(lines) != 3 {
		t.Fatalf("%d lines: %q", len(lines), lines)
	}
	for _, l := range lines {
		if w := faceWidth(face, l); w > width {
			t.Errorf("line %q is %v wide, more than %v", l, w, width)
		}
	}
	if last := lines[2]; last[len(last)-len("…"):] != "…" {
		t.Errorf("the cut title does not end with an ellipsis: %q", last)
	}
	if got := wrap(face, "Short", width, 3); len(got) != 1 || got[0] != "Short" {
		t.Errorf("short title: %q", got)
	}
	b, err := drawCard(card{Kicker: "Atelier", Title: long, Lines: []string{"a", "b", "c"}, Footer: "example.org"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width != cardWidth || cfg.Height != cardHeight {
		t.Fatalf("card: %v %dx%d", err, cfg.Width, cfg.Height)
	}
}

// BenchmarkDrawCard times drawing one preview card (uncached): what the first crawler of a new
// workshop waits for.
func BenchmarkDrawCard(b *testing.B) {
	c := card{Kicker: "Atelier · Workshop", Title: "Nextcloud for associations: sharing files, calendars and contacts",
		Lines: []string{"Tuesday, March 24, 2099, 18:00 CET", "Nextcloud 28", "French"}, Footer: "atelier.example.org"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := drawCard(c); err != nil {
			b.Fatal(err)
		}
	}
}
