package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
)

// SyncResult is what syncing one software's release feed did.
type SyncResult struct {
	Software string    `json:"software"`
	Added    []Release `json:"added"`
	Skipped  int       `json:"skipped"` // entries without a recognisable version
	Err      error     `json:"-"`
}

// SyncOptions tune SyncReleases; the zero value syncs every software with a feed, from public
// addresses only.
type SyncOptions struct {
	Software string // only this slug
	// AllowPrivate lets feeds on loopback, private and link-local addresses be read
	// (-allow-private-feeds); see NewFeedClient.
	AllowPrivate bool
	Log          *slog.Logger

	treatAsPublic netip.AddrPort // see FeedClientOptions
}

// versionInText finds version-looking words: an optional v, up to 4 numeric components and an
// optional pre-release, standing apart from surrounding letters and digits.
var versionInText = regexp.MustCompile(`(?i)(?:^|[^0-9a-z.])v?(\d+(?:\.\d+){0,3}(?:[-_.~]?(?:alpha|beta|rc|dev|preview|pre|a|b|c)(?:[-_.]?\d+)?)?)(?:$|[^0-9a-z])`)

// ExtractVersion finds the version a feed entry announces in text such as "v28.0.1",
// "Nextcloud 28.0.1", "Release 6.3 (LTS)" or a tag URL ".../releases/tag/v28.0.1". A dotted
// version wins over a lone number (so "Build 42: 1.2.3" gives 1.2.3).
func ExtractVersion(texts ...string) (string, bool) {
	for _, text := range texts {
		var lone string
		for _, m := range versionInText.FindAllStringSubmatch(text, -1) {
			if _, err := ParseVersion(m[1]); err != nil {
				continue
			}
			if strings.Contains(m[1], ".") {
				return m[1], true
			}
			if lone == "" {
				lone = m[1]
			}
		}
		if lone != "" {
			return lone, true
		}
	}
	return "", false
}

// SyncReleases reads the Atom (or RSS) release feed of every software that has one and adds the
// releases it does not know yet: unreviewed, with the default interface-change rule applied in
// version order. One software's failing feed does not stop the others; their errors are in the
// results, and the returned error joins them.
func (s *Store) SyncReleases(ctx context.Context, o SyncOptions) ([]SyncResult, error) {
	client := NewFeedClient(FeedClientOptions{AllowPrivate: o.AllowPrivate, treatAsPublic: o.treatAsPublic})
	defer client.CloseIdleConnections()
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	var feeds []struct {
		id         int64
		slug, feed string
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, slug, release_feed FROM software
		WHERE release_feed <> '' AND ($1 = '' OR slug = $1) ORDER BY slug`, o.Software)
	if err != nil {
		return nil, fmt.Errorf("catalog: sync releases: %w", err)
	}
	for rows.Next() {
		var f struct {
			id         int64
			slug, feed string
		}
		if err := rows.Scan(&f.id, &f.slug, &f.feed); err != nil {
			rows.Close()
			return nil, fmt.Errorf("catalog: sync releases: %w", err)
		}
		feeds = append(feeds, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: sync releases: %w", err)
	}
	if o.Software != "" && len(feeds) == 0 {
		if _, err := s.softwareID(ctx, "software", o.Software); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("catalog: software %q has no release feed", o.Software)
	}
	var results []SyncResult
	var errs []error
	for _, f := range feeds {
		res := s.syncOne(ctx, client, f.id, f.slug, f.feed)
		if res.Err != nil {
			errs = append(errs, res.Err)
			o.Log.Warn("release feed sync failed", "software", f.slug, "feed", f.feed, "error", res.Err)
		} else if len(res.Added) > 0 {
			versions := make([]string, len(res.Added))
			for i, r := range res.Added {
				versions[i] = r.Version
			}
			o.Log.Info("releases added from feed", "software", f.slug, "versions", versions)
		}
		results = append(results, res)
		if ctx.Err() != nil {
			break
		}
	}
	return results, errors.Join(errs...)
}

type feedRelease struct {
	raw      string
	v        Version
	released time.Time
	notes    string
}

func (s *Store) syncOne(ctx context.Context, client *http.Client, id int64, slug, url string) SyncResult {
	res := SyncResult{Software: slug, Added: []Release{}}
	body, err := fetchFeed(ctx, client, url)
	if err != nil {
		res.Err = fmt.Errorf("catalog: sync %s from %s: %w", slug, url, err)
		return res
	}
	feed, err := gofeed.NewParser().Parse(body)
	body.Close()
	if err != nil {
		res.Err = fmt.Errorf("catalog: sync %s from %s: %w", slug, url, err)
		return res
	}
	var found []feedRelease
	for _, it := range feed.Items {
		// A preset's tag rule (presets.go) reads tags that are not plain versions.
		raw, ok := entryVersion(slug, it.Title, it.Link, it.GUID)
		if !ok {
			res.Skipped++
			continue
		}
		v, _ := ParseVersion(raw)
		fr := feedRelease{raw: strings.TrimPrefix(strings.TrimPrefix(raw, "v"), "V"), v: v, released: s.now()}
		switch {
		case it.PublishedParsed != nil:
			fr.released = *it.PublishedParsed
		case it.UpdatedParsed != nil:
			fr.released = *it.UpdatedParsed
		}
		fr.notes = strings.TrimSpace(it.Title)
		found = append(found, fr)
	}
	// Oldest first, so that the first release of each major version gets the interface change.
	sort.SliceStable(found, func(i, j int) bool { return found[i].v.Compare(found[j].v) < 0 })
	for _, fr := range found {
		added, err := s.insertRelease(ctx, id, fr.raw, fr.v, fr.released, nil, fr.notes, false, SourceFeed)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			res.Err = fmt.Errorf("catalog: sync %s: %w", slug, err)
			return res
		}
		if added {
			rel, err := scanRelease(s.db.QueryRowContext(ctx, `SELECT `+releaseCols+` FROM releases r JOIN software s ON s.id = r.software_id
				WHERE r.software_id = $1 AND r.version_key = $2`, id, fr.v.Key()))
			if err != nil {
				res.Err = fmt.Errorf("catalog: sync %s: %w", slug, err)
				return res
			}
			res.Added = append(res.Added, rel)
		}
	}
	if _, err := s.exec(ctx, `UPDATE software SET synced_at = $1 WHERE id = $2`, fmtTime(s.now()), id); err != nil {
		res.Err = fmt.Errorf("catalog: sync %s: %w", slug, err)
	}
	return res
}

func lastSegment(s string) string {
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndexAny(s, "/:"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// SyncWorker returns a loop that syncs the release feeds every interval with o until ctx ends
// (the first sync runs at once). interval ≤ 0 returns nil: no worker.
func (s *Store) SyncWorker(interval time.Duration, o SyncOptions) func(ctx context.Context) error {
	if interval <= 0 {
		return nil
	}
	return func(ctx context.Context) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			// Errors are logged per software inside; the loop keeps going.
			_, _ = s.SyncReleases(ctx, o)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
	}
}
