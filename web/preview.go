package web

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// head is what a page puts in its <head> besides the title: the link preview that social
// networks, chat apps and forums read (OpenGraph and Twitter cards), the feeds a reader can
// follow, robots rules, and whether the page may be framed.
type head struct {
	// Title is the page's <title> when the page passes no message key: what it shows.
	Title string
	// Preview is nil on pages that must not describe themselves to crawlers (drafts, errors,
	// the studio).
	Preview *preview
	Feeds   []feedLink
	NoIndex bool // unlisted replays and drafts: reachable by link, never indexed
	// OEmbed is the oEmbed discovery URL (JSON) of a replay page.
	OEmbed string
	// Embed marks the embed page: the only one other origins may frame.
	Embed bool
}

// preview is a page's link preview. URLs are absolute (crawlers fetch them from elsewhere).
type preview struct {
	Type        string // og:type: website, video.other, event
	Title       string
	Description string
	URL         string
	Image       string
	ImageType   string
	ImageWidth  int
	ImageHeight int
	ImageAlt    string
	Video       string // og:video: the MP4 of a replay
	Player      string // twitter:player: the embed page
	SiteName    string
	Locale      string // og:locale, e.g. fr_FR
	AltLocale   string
}

// feedLink is a <link rel="alternate"> to a feed.
type feedLink struct {
	Type, Title, Href string
}

// The feeds other parts of Atelier serve (catalog: replays and podcast; schedule: workshops
// and calendars). The pages only link to them.
const (
	feedReplays   = "/replays.atom"
	feedPodcast   = "/podcast.rss"
	feedWorkshops = "/workshops.atom"
	feedCalendar  = "/calendar.ics"
)

// siteFeeds are the feeds every public page announces.
func (s *Site) siteFeeds(l Lang) []feedLink {
	return []feedLink{
		{Type: "application/atom+xml", Title: l.T("feed.replays"), Href: s.abs(feedReplays)},
		{Type: "application/rss+xml", Title: l.T("feed.podcast"), Href: s.abs(feedPodcast)},
		{Type: "application/atom+xml", Title: l.T("feed.workshops"), Href: s.abs(feedWorkshops)},
		{Type: "text/calendar", Title: l.T("footer.feeds"), Href: s.abs(feedCalendar)},
	}
}

// abs makes a root-relative path absolute with the configured public URL.
func (s *Site) abs(path string) string {
	return strings.TrimSuffix(s.publicURL, "/") + path
}

// ogLocale is the OpenGraph locale of a page language.
func ogLocale(code string) string {
	if code == "fr" {
		return "fr_FR"
	}
	return "en_US"
}

// withLang adds ?lang= so that a crawler following the link gets the language of the page it
// read (crawlers send no Accept-Language).
func withLang(u string, l Lang) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "lang=" + url.QueryEscape(l.Code)
}

// newPreview fills what every preview shares.
func (s *Site) newPreview(l Lang, typ, title, desc, path string) *preview {
	return &preview{
		Type: typ, Title: title, Description: clip(desc, 200), URL: s.abs(path), SiteName: s.siteName,
		Locale: ogLocale(l.Code), AltLocale: ogLocale(l.Other()),
		Image: withLang(s.abs("/card.png"), l), ImageType: "image/png", ImageWidth: cardWidth, ImageHeight: cardHeight,
		ImageAlt: title,
	}
}

// clip shortens text to at most n runes on a word boundary, with an ellipsis.
func clip(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	r := []rune(text)[:n]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}
