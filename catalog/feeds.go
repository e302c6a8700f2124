package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/internal/httpapi"
)

// MediaStat is what the feeds need of the media store: the byte length of a replay's files,
// for the enclosures. assets.Store has it.
type MediaStat interface {
	Stat(ctx context.Context, key string) (assets.Info, error)
}

// The renditions the feeds enclose, by their names under /replays/{id}/ (the web stream routes
// serve each from its layout key).
const (
	videoFile = "video.mp4"
	audioFile = "audio.m4a" // AAC stream copy, for podcast apps that only play audio
)

// feedEntries is how many replays a feed lists: readers only need what is new.
const feedEntries = 50

// FeedOptions choose the replays of a feed: published and ready ones, newest first.
type FeedOptions struct {
	Software string // tagged (themselves or a chapter) with this software slug
	Language string // in this language
	Limit    int    // default 50
}

// FeedReplays returns the replays a public feed lists: published and ready (never drafts or
// unlisted ones), newest published first, with chapters.
func (s *Store) FeedReplays(ctx context.Context, o FeedOptions) ([]Replay, error) {
	if o.Limit <= 0 {
		o.Limit = feedEntries
	}
	l, err := s.ListReplays(ctx, ListOptions{Public: true, Software: o.Software, Language: o.Language,
		Sort: "-published_at", Page: httpapi.Page{Limit: o.Limit}})
	if err != nil {
		return nil, err
	}
	out := l.Items[:0]
	for _, rp := range l.Items {
		// Published implies ready today; a replay being processed again has no media to enclose.
		if rp.Publication == Published && rp.Processing == Ready {
			out = append(out, rp)
		}
	}
	if err := s.fill(ctx, out, true); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) softwareNames(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT slug, name FROM software`)
	if err != nil {
		return nil, fmt.Errorf("catalog: software names: %w", err)
	}
	defer rows.Close()
	names := map[string]string{}
	for rows.Next() {
		var slug, name string
		if err := rows.Scan(&slug, &name); err != nil {
			return nil, fmt.Errorf("catalog: software names: %w", err)
		}
		names[slug] = name
	}
	return names, rows.Err()
}

// feedLabels are the words inside the feeds, in the instance's language (API.Language).
type feedLabels struct {
	replays, replaysOf, description, descriptionOf, shows, chapters, outdatedBy, watch, audio, video string
}

var labels = map[string]feedLabels{
	"en": {
		replays: "%s: replays", replaysOf: "%s: replays about %s",
		description:   "%s: the new replays of the workshops.",
		descriptionOf: "%s: the new replays of the workshops about %s.",
		shows:         "Shows: ", chapters: "Chapters:", outdatedBy: "Outdated since %s %s changed its interface.",
		watch: "Watch the replay", audio: "Audio only", video: "Video",
	},
	"fr": {
		replays: "%s : rediffusions", replaysOf: "%s : rediffusions sur %s",
		description:   "%s : les nouvelles rediffusions des ateliers.",
		descriptionOf: "%s : les nouvelles rediffusions des ateliers sur %s.",
		shows:         "Montre : ", chapters: "Chapitres :", outdatedBy: "Périmée depuis que %s %s a changé son interface.",
		watch: "Voir la rediffusion", audio: "Audio seul", video: "Vidéo",
	},
}

func (a *API) labels() feedLabels {
	if l, ok := labels[a.Language]; ok {
		return l
	}
	return labels["en"]
}

func (a *API) siteName() string {
	if a.SiteName != "" {
		return a.SiteName
	}
	return "Atelier"
}

var feedLangPattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{1,8})?$`)

// feedRequest is what a feed request asks for, validated.
type feedRequest struct {
	software     Software // Slug "" for every software
	language     string
	self         string // the feed's own URL
	alternate    string // the page it follows
	title, about string
}

func (a *API) parseFeedRequest(r *http.Request, path string) (feedRequest, error) {
	q := r.URL.Query()
	fr := feedRequest{language: q.Get("language"), alternate: a.PublicURL + "/replays"}
	if fr.language != "" && !feedLangPattern.MatchString(fr.language) {
		return fr, httpapi.Invalid("language", "language %q: use a language code such as fr or en", fr.language)
	}
	slug := mux.Vars(r)["slug"]
	if slug == "" {
		slug = q.Get("software")
	}
	l := a.labels()
	site := a.siteName()
	fr.title, fr.about = fmt.Sprintf(l.replays, site), fmt.Sprintf(l.description, site)
	if slug != "" {
		sw, err := a.Store.Software(r.Context(), slug)
		if err != nil {
			return fr, err
		}
		fr.software = sw
		fr.alternate = a.PublicURL + "/software/" + url.PathEscape(sw.Slug)
		fr.title, fr.about = fmt.Sprintf(l.replaysOf, site, sw.Name), fmt.Sprintf(l.descriptionOf, site, sw.Name)
	}
	if fr.language != "" {
		fr.title += " (" + fr.language + ")"
	}
	self := url.Values{}
	if mux.Vars(r)["slug"] == "" && slug != "" {
		self.Set("software", slug)
	}
	if fr.language != "" {
		self.Set("language", fr.language)
	}
	fr.self = a.PublicURL + path
	if len(self) > 0 {
		fr.self += "?" + self.Encode()
	}
	return fr, nil
}

// feedItem is a replay with what every feed shows of it.
type feedItem struct {
	rp        Replay
	links     Links
	video     int64 // byte length of the MP4, 0 when it is not stored
	audio     int64 // byte length of the M4A, 0 when it is not stored
	tags      []Tag // the replay's and its chapters' software@version, each once
	published time.Time
}

func (a *API) feedItems(ctx context.Context, fr feedRequest, withSizes bool) ([]feedItem, map[string]string, error) {
	list, err := a.Store.FeedReplays(ctx, FeedOptions{Software: fr.software.Slug, Language: fr.language})
	if err != nil {
		return nil, nil, err
	}
	names, err := a.Store.softwareNames(ctx)
	if err != nil {
		return nil, nil, err
	}
	items := make([]feedItem, len(list))
	for i, rp := range list {
		it := feedItem{rp: rp, links: a.withLinks(rp).Links, published: rp.CreatedAt}
		if rp.PublishedAt != nil {
			it.published = *rp.PublishedAt
		}
		seen := map[Tag]bool{}
		add := func(tags []Tag) {
			for _, t := range tags {
				if !seen[t] {
					seen[t] = true
					it.tags = append(it.tags, t)
				}
			}
		}
		add(rp.Documents)
		for _, c := range rp.Chapters {
			add(c.Documents)
		}
		items[i] = it
	}
	if withSizes && a.Media != nil {
		if err := a.statAll(ctx, items); err != nil {
			return nil, nil, err
		}
	}
	return items, names, nil
}

// statAll fills the enclosure lengths from the media store, a few at a time (on S3 each is a
// HEAD request).
func (a *API) statAll(ctx context.Context, items []feedItem) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, 8)
	)
	stat := func(key string, into *int64) {
		defer wg.Done()
		sem <- struct{}{}
		defer func() { <-sem }()
		info, err := a.Media.Stat(ctx, key)
		if errors.Is(err, assets.ErrNotExist) {
			return
		}
		if err != nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("catalog: feed enclosure %s: %w", key, err))
			mu.Unlock()
			return
		}
		*into = info.Size
	}
	for i := range items {
		wg.Add(2)
		rp := layout.Replay(items[i].rp.ID).Render(items[i].rp.Render)
		go stat(rp.VideoKey(), &items[i].video)
		go stat(rp.AudioKey(), &items[i].audio)
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (a *API) replayURL(id, file string) string {
	return a.PublicURL + "/replays/" + url.PathEscape(id) + "/" + file
}

func tagLabel(names map[string]string, t Tag) string {
	name := names[t.Software]
	if name == "" {
		name = t.Software
	}
	return name + " " + t.Version
}

// clock formats a chapter start as the Podlove Simple Chapters normal play time.
func clock(ms int64) string {
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3_600_000, ms/60_000%60, ms/1000%60, ms%1000)
}

// itemHTML is an entry's body: poster, description, what it shows and its chapters with their
// own versions, and a link to watch it.
func (a *API) itemHTML(it feedItem, names map[string]string) string {
	l := a.labels()
	var b strings.Builder
	if it.links.Poster != "" {
		fmt.Fprintf(&b, `<p><img src="%s" alt=""></p>`, html.EscapeString(it.links.Poster))
	}
	if d := strings.TrimSpace(it.rp.Description); d != "" {
		fmt.Fprintf(&b, "<p>%s</p>", strings.ReplaceAll(html.EscapeString(d), "\n", "<br>"))
	}
	if len(it.rp.Documents) > 0 {
		var shows []string
		for _, t := range it.rp.Documents {
			shows = append(shows, html.EscapeString(tagLabel(names, t)))
		}
		fmt.Fprintf(&b, "<p>%s%s</p>", html.EscapeString(l.shows), strings.Join(shows, ", "))
	}
	for _, t := range it.rp.Freshness.Tags {
		if t.OutdatedBy != nil {
			fmt.Fprintf(&b, "<p>%s</p>", html.EscapeString(fmt.Sprintf(l.outdatedBy, names[t.Software], t.OutdatedBy.Version)))
		}
	}
	if len(it.rp.Chapters) > 0 {
		fmt.Fprintf(&b, "<p>%s</p><ol>", html.EscapeString(l.chapters))
		for _, c := range it.rp.Chapters {
			fmt.Fprintf(&b, `<li><a href="%s#t=%d">%s</a> %s`, html.EscapeString(it.links.Page), c.StartMS/1000,
				clock(c.StartMS)[:8], html.EscapeString(c.Title))
			var shows []string
			for _, t := range c.Documents {
				shows = append(shows, html.EscapeString(tagLabel(names, t)))
			}
			if len(shows) > 0 {
				fmt.Fprintf(&b, " (%s)", strings.Join(shows, ", "))
			}
			b.WriteString("</li>")
		}
		b.WriteString("</ol>")
	}
	fmt.Fprintf(&b, `<p><a href="%s">%s</a></p>`, html.EscapeString(it.links.Page), l.watch)
	return b.String()
}

// Podlove Simple Chapters (psc), read by AntennaPod and most podcast apps, in Atom and RSS alike.
type pscChapters struct {
	Version  string       `xml:"version,attr"`
	Chapters []pscChapter `xml:"psc:chapter"`
}

type pscChapter struct {
	Start string `xml:"start,attr"`
	Title string `xml:"title,attr"`
}

func chaptersOf(rp Replay) *pscChapters {
	if len(rp.Chapters) == 0 {
		return nil
	}
	c := &pscChapters{Version: "1.2"}
	for _, ch := range rp.Chapters {
		c.Chapters = append(c.Chapters, pscChapter{Start: clock(ch.StartMS), Title: ch.Title})
	}
	return c
}

const (
	nsPSC     = "http://podlove.org/simple-chapters"
	nsMedia   = "http://search.yahoo.com/mrss/"
	nsITunes  = "http://www.itunes.com/dtds/podcast-1.0.dtd"
	nsPodcast = "https://podcastindex.org/namespace/1.0"
	nsAtom    = "http://www.w3.org/2005/Atom"
)

// Atom feed of replays: namespaces as literal attributes, so that the prefixes are the usual
// ones (encoding/xml would invent its own).
type replayAtom struct {
	XMLName   xml.Name         `xml:"http://www.w3.org/2005/Atom feed"`
	Lang      string           `xml:"xml:lang,attr,omitempty"`
	NSMedia   string           `xml:"xmlns:media,attr"`
	NSPSC     string           `xml:"xmlns:psc,attr"`
	Title     string           `xml:"title"`
	Subtitle  string           `xml:"subtitle"`
	ID        string           `xml:"id"`
	Updated   string           `xml:"updated"`
	Links     []atomLink       `xml:"link"`
	Author    atomAuthor       `xml:"author"`
	Generator string           `xml:"generator"`
	Entries   []replayAtomItem `xml:"entry"`
}

type replayAtomItem struct {
	Lang       string         `xml:"xml:lang,attr,omitempty"`
	Title      string         `xml:"title"`
	ID         string         `xml:"id"`
	Published  string         `xml:"published"`
	Updated    string         `xml:"updated"`
	Links      []atomLink     `xml:"link"`
	Categories []atomCategory `xml:"category"`
	Summary    string         `xml:"summary,omitempty"`
	Content    atomContent    `xml:"content"`
	Thumbnail  *mediaThumb    `xml:"media:thumbnail"`
	Chapters   *pscChapters   `xml:"psc:chapters"`
}

type atomCategory struct {
	Term   string `xml:"term,attr"`
	Scheme string `xml:"scheme,attr,omitempty"`
}

type atomContent struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type mediaThumb struct {
	URL string `xml:"url,attr"`
}

func replayEntryID(id string) string { return "urn:atelier:replay:" + url.PathEscape(id) }

// ReplaysAtom handles GET /replays.atom and GET /software/{slug}/replays.atom (?language= for
// one language): an entry per published replay, newest first, with its poster, its chapters
// and the software@version it shows as categories, and the MP4 (and the audio-only M4A when
// there is one) as enclosure links.
func (a *API) ReplaysAtom(w http.ResponseWriter, r *http.Request) error {
	path := "/replays.atom"
	if slug := mux.Vars(r)["slug"]; slug != "" {
		path = "/software/" + url.PathEscape(slug) + "/replays.atom"
	}
	fr, err := a.parseFeedRequest(r, path)
	if err != nil {
		return err
	}
	items, names, err := a.feedItems(r.Context(), fr, true)
	if err != nil {
		return err
	}
	l := a.labels()
	feed := replayAtom{
		Lang: a.feedLanguage(fr), NSMedia: nsMedia, NSPSC: nsPSC,
		Title: fr.title, Subtitle: fr.about, ID: fr.self,
		Links: []atomLink{
			{Href: fr.self, Rel: "self", Type: "application/atom+xml"},
			{Href: fr.alternate, Rel: "alternate", Type: "text/html"},
		},
		Author: atomAuthor{Name: a.siteName()}, Generator: "Atelier",
		Updated: time.Unix(0, 0).UTC().Format(time.RFC3339),
	}
	if len(items) > 0 {
		feed.Updated = items[0].published.UTC().Format(time.RFC3339)
	}
	for _, it := range items {
		e := replayAtomItem{
			Lang: it.rp.Language, Title: it.rp.Title, ID: replayEntryID(it.rp.ID),
			Published: it.published.UTC().Format(time.RFC3339), Updated: it.published.UTC().Format(time.RFC3339),
			Links:    []atomLink{{Href: it.links.Page, Rel: "alternate", Type: "text/html"}},
			Summary:  strings.TrimSpace(it.rp.Description),
			Content:  atomContent{Type: "html", Body: a.itemHTML(it, names)},
			Chapters: chaptersOf(it.rp),
		}
		if it.links.Poster != "" {
			e.Thumbnail = &mediaThumb{URL: it.links.Poster}
		}
		if it.video > 0 {
			e.Links = append(e.Links, atomLink{Href: a.replayURL(it.rp.ID, videoFile), Rel: "enclosure", Type: "video/mp4",
				Title: l.video, Length: strconv.FormatInt(it.video, 10)})
		}
		if it.audio > 0 {
			e.Links = append(e.Links, atomLink{Href: a.replayURL(it.rp.ID, audioFile), Rel: "enclosure", Type: "audio/mp4",
				Title: l.audio, Length: strconv.FormatInt(it.audio, 10)})
		}
		for _, t := range it.tags {
			// No label: readers show the label instead of the term, and the term is the tag.
			e.Categories = append(e.Categories, atomCategory{Term: t.Software + "@" + t.Version,
				Scheme: a.PublicURL + "/software/" + url.PathEscape(t.Software)})
		}
		feed.Entries = append(feed.Entries, e)
	}
	return writeFeed(w, r, "application/atom+xml; charset=utf-8", feed)
}

// feedLanguage is the language a feed declares: the one it was asked for, else the instance's.
func (a *API) feedLanguage(fr feedRequest) string {
	if fr.language != "" {
		return fr.language
	}
	if a.Language != "" {
		return a.Language
	}
	return "en"
}

// RSS 2.0 with the iTunes, Podcasting 2.0 and Podlove chapter namespaces.
type podcastRSS struct {
	XMLName   xml.Name       `xml:"rss"`
	Version   string         `xml:"version,attr"`
	NSITunes  string         `xml:"xmlns:itunes,attr"`
	NSPodcast string         `xml:"xmlns:podcast,attr"`
	NSAtom    string         `xml:"xmlns:atom,attr"`
	NSPSC     string         `xml:"xmlns:psc,attr"`
	Channel   podcastChannel `xml:"channel"`
}

type podcastChannel struct {
	Title          string         `xml:"title"`
	Link           string         `xml:"link"`
	Description    string         `xml:"description"`
	Language       string         `xml:"language"`
	Generator      string         `xml:"generator"`
	LastBuildDate  string         `xml:"lastBuildDate,omitempty"`
	Self           atomLink       `xml:"atom:link"`
	Image          *rssImage      `xml:"image"`
	ITunesImage    *itunesImage   `xml:"itunes:image"`
	ITunesAuthor   string         `xml:"itunes:author"`
	ITunesSummary  string         `xml:"itunes:summary"`
	ITunesType     string         `xml:"itunes:type"`
	ITunesExplicit string         `xml:"itunes:explicit"`
	ITunesCategory itunesCategory `xml:"itunes:category"`
	PodcastMedium  string         `xml:"podcast:medium"`
	Items          []podcastItem  `xml:"item"`
}

type rssImage struct {
	URL   string `xml:"url"`
	Title string `xml:"title"`
	Link  string `xml:"link"`
}

type itunesImage struct {
	Href string `xml:"href,attr"`
}

type itunesCategory struct {
	Text string          `xml:"text,attr"`
	Sub  *itunesCategory `xml:"itunes:category"`
}

type podcastItem struct {
	Title          string             `xml:"title"`
	Link           string             `xml:"link"`
	Description    string             `xml:"description"`
	GUID           rssGUID            `xml:"guid"`
	PubDate        string             `xml:"pubDate"`
	Categories     []string           `xml:"category"`
	Enclosure      rssEnclosure       `xml:"enclosure"`
	Alternates     []podcastAlternate `xml:"podcast:alternateEnclosure"`
	ITunesDuration string             `xml:"itunes:duration,omitempty"`
	ITunesImage    *itunesImage       `xml:"itunes:image"`
	ITunesType     string             `xml:"itunes:episodeType"`
	Chapters       *pscChapters       `xml:"psc:chapters"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type rssEnclosure struct {
	URL    string `xml:"url,attr"`
	Length int64  `xml:"length,attr"`
	Type   string `xml:"type,attr"`
}

type podcastAlternate struct {
	Type    string        `xml:"type,attr"`
	Length  int64         `xml:"length,attr"`
	Title   string        `xml:"title,attr,omitempty"`
	Default bool          `xml:"default,attr,omitempty"`
	Source  podcastSource `xml:"podcast:source"`
}

type podcastSource struct {
	URI string `xml:"uri,attr"`
}

// PodcastRSS handles GET /podcast.rss (?software=slug, ?language=): the replays as a podcast
// for AntennaPod and other podcast apps. Each item encloses the MP4 (with its byte length) and
// offers the audio-only M4A, when the replay has one, as a Podcasting 2.0 alternate enclosure;
// ?media=audio makes the M4A the enclosure instead (for apps that only take the first one) and
// lists only the replays that have it.
func (a *API) PodcastRSS(w http.ResponseWriter, r *http.Request) error {
	media := r.URL.Query().Get("media")
	if media != "" && media != "video" && media != "audio" {
		return httpapi.Invalid("media", "media %q: use video (the default) or audio", media)
	}
	fr, err := a.parseFeedRequest(r, "/podcast.rss")
	if err != nil {
		return err
	}
	if media == "audio" {
		fr.self += map[bool]string{true: "&", false: "?"}[strings.Contains(fr.self, "?")] + "media=audio"
		fr.title += " (" + a.labels().audio + ")"
	}
	items, names, err := a.feedItems(r.Context(), fr, true)
	if err != nil {
		return err
	}
	l := a.labels()
	ch := podcastChannel{
		Title: fr.title, Link: fr.alternate, Description: fr.about, Language: a.feedLanguage(fr),
		Generator: "Atelier", Self: atomLink{Href: fr.self, Rel: "self", Type: "application/rss+xml"},
		ITunesAuthor: a.siteName(), ITunesSummary: fr.about, ITunesType: "episodic", ITunesExplicit: "false",
		ITunesCategory: itunesCategory{Text: "Education", Sub: &itunesCategory{Text: "How To"}},
		PodcastMedium:  "podcast",
	}
	for _, it := range items {
		enc := rssEnclosure{URL: a.replayURL(it.rp.ID, videoFile), Length: it.video, Type: "video/mp4"}
		if media == "audio" {
			enc = rssEnclosure{URL: a.replayURL(it.rp.ID, audioFile), Length: it.audio, Type: "audio/mp4"}
		}
		if enc.Length <= 0 {
			continue // nothing to enclose: a podcast item without media is noise in an app
		}
		if ch.LastBuildDate == "" {
			ch.LastBuildDate = it.published.UTC().Format(time.RFC1123Z)
		}
		if ch.Image == nil && it.links.Poster != "" {
			// The newest poster stands for the channel: there is no channel artwork to upload yet.
			ch.Image = &rssImage{URL: it.links.Poster, Title: fr.title, Link: fr.alternate}
			ch.ITunesImage = &itunesImage{Href: it.links.Poster}
		}
		item := podcastItem{
			Title: it.rp.Title, Link: it.links.Page, Description: a.itemHTML(it, names),
			GUID:    rssGUID{IsPermaLink: "false", Value: replayEntryID(it.rp.ID)},
			PubDate: it.published.UTC().Format(time.RFC1123Z), Enclosure: enc, ITunesType: "full",
			Chapters: chaptersOf(it.rp),
		}
		for _, t := range it.tags {
			item.Categories = append(item.Categories, t.Software+"@"+t.Version)
		}
		if it.rp.DurationMS > 0 {
			item.ITunesDuration = strconv.FormatInt((it.rp.DurationMS+500)/1000, 10)
		}
		if it.links.Poster != "" {
			item.ITunesImage = &itunesImage{Href: it.links.Poster}
		}
		if it.audio > 0 {
			item.Alternates = []podcastAlternate{
				{Type: "video/mp4", Length: it.video, Title: l.video, Default: media != "audio",
					Source: podcastSource{URI: a.replayURL(it.rp.ID, videoFile)}},
				{Type: "audio/mp4", Length: it.audio, Title: l.audio, Default: media == "audio",
					Source: podcastSource{URI: a.replayURL(it.rp.ID, audioFile)}},
			}
			if it.video <= 0 {
				item.Alternates = item.Alternates[1:]
			}
		}
		ch.Items = append(ch.Items, item)
	}
	feed := podcastRSS{Version: "2.0", NSITunes: nsITunes, NSPodcast: nsPodcast, NSAtom: nsAtom, NSPSC: nsPSC, Channel: ch}
	return writeFeed(w, r, "application/rss+xml; charset=utf-8", feed)
}

// writeFeed encodes a feed and serves it with an ETag of its bytes: feed readers poll, and most
// polls then cost a 304. no-cache (revalidate every time) rather than max-age, so that an
// unpublished replay leaves the feed at once, shared caches included.
func writeFeed(w http.ResponseWriter, r *http.Request, contentType string, feed any) error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(feed); err != nil {
		return fmt.Errorf("catalog: encode feed: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	h.Set("Cache-Control", "public, no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(buf.Bytes()))
	return nil
}
