// Package catalog knows the software Atelier's replays teach, their releases, which version every
// replay (and every chapter) shows, and — computed from the data at query time — which replays an
// interface change has made outdated. It also answers the learners' searches.
//
// A replay records the render generation its files are served from (Replay.Render, set by
// SetRender): the pipeline renders a re-cut beside the current files and switches with that one
// write, so every reader that resolves keys through assets/layout with it (web's streams and
// pages, the feeds' enclosures) sees the old files or the new ones, never a mix.
//
// # Versions
//
// ParseVersion accepts semver (27.1.4), a v prefix (v28.0.1), shorter forms (6.3 == 6.3.0),
// calendar versions (2023.10, 24.04) and pre-releases (28.0.0-rc1, 3.12.0b1, 1.0-alpha.2;
// dev < alpha < beta < rc < the release). Anything else is rejected with 422. Every stored
// version has a version_key whose byte order is the version order (Version.Key), so SQL
// compares versions with < and >.
//
// # Interface changes
//
// A release with interface_change=true changed what learners see. When a release does not say,
// the default is true for the first release of a new major version and false otherwise (always
// false for pre-releases). A release starts a new major when no known non-pre-release shares its
// first component and either an older major is known or it is an N.0.0 itself: 28.0.1 after
// 27.x, and for calendar versions 2024.04 after 2023.10 (24.10 after 24.04 is no new major). So
// the first release ever recorded counts only when it is an N.0.0 — the oldest entry of a
// release feed (some 26.0.5) does not outdate every replay of 26.x. Releases added by the feed sync are marked reviewed=false until
// an animator confirms or corrects them (PATCH /api/software/{slug}/releases/{version}).
//
// # Presets
//
// Presets (presets.go, data in presets.json) are the libre software collectives commonly teach,
// each with its forge's releases Atom feed; the studio adds one with CreateSoftware when an
// animator asks. A preset may carry a TagRule that maps tags that are not plain versions
// (stable/jitsi-meet_9909 -> 2.0.9909, cp-24.04.5-4 -> 24.04.5.4) onto orderable versions; the
// feed sync applies the rule of the preset with the software's slug, and skips the entries it
// does not match.
//
// # Freshness
//
// For each tag (software, version): outdated when an interface-changing release is newer than
// the version (OutdatedBy is the first such release), unknown when the version is newer than
// every known release (or none is known), current otherwise. A replay's status is the worst of
// its own tags' and all its chapters' (outdated > unknown > current); each chapter keeps its own.
// A replay without tags is current. Statuses shown are computed from the releases when asked;
// the status filter reads the replay's overall status from an indexed column that is rewritten
// in the same transaction as every change to releases or tags, so adding or reviewing a release
// changes every answer at once (no batch job, no lag). Each tag row carries a copy of its
// replay's publication, language, stored status and publication time (kept in step by
// triggers), so that software= and for= select and count their replays from the tag indexes
// alone, and page them in publication order (the default order of the public) from the tags
// too. Data loaded around the store (bulk seeding) needs Store.Reindex.
//
// for=slug@L lists the replays still valid for a learner on version L: the replay documents slug,
// and every tag of slug (its own and its chapters') is ≤ L and ≥ B, B being the newest
// interface-changing release ≤ L. Each tag also carries the lowest and highest version its
// replay documents for the tag's software (kept by a trigger on the tags), so that this "every
// tag" is a condition on any one tag's index entry.
//
// # Release feeds
//
// release_feed must be an absolute http(s) URL (422 otherwise). Any animator sets it and the
// server fetches it, and its text comes back publicly as release notes, so the sync reads it
// through NewFeedClient: connections only to public unicast addresses, checked on the resolved
// address at connect time (loopback, private, link-local, multicast, unspecified and
// IPv4-mapped forms of them are refused, redirects and DNS rebinding included), no proxy from
// the environment, at most 5 redirects, a 20 s timeout, and reading stops with an error past
// 4 MiB. SyncOptions.AllowPrivate (-allow-private-feeds) lifts the address check for a forge
// on the local network.
//
// # HTTP API
//
// The handlers are the methods of API; every route, its method and the access it needs, is
// listed once in cmd/atelier/routes.go. The JSON fields are the ones of the types above.
//
// # Feeds of replays
//
// ReplaysAtom and PodcastRSS list the 50 newest published, ready replays (never drafts or
// unlisted ones; unpublishing removes a replay at once: feeds are revalidated, with an ETag,
// never cached blindly), optionally for one software (tagged on the replay or a chapter) and
// one language. Each entry carries the poster (media:thumbnail, itunes:image), the chapters (in
// the HTML body with their own versions, and as Podlove Simple Chapters, which podcast apps
// read), the software@version tags as categories, and the renditions with their byte length from
// the media store: the MP4 and, when the pipeline made one, the audio-only M4A (Atom enclosure
// links; in RSS the MP4 is the enclosure and both are podcast:alternateEnclosure, and
// ?media=audio makes the M4A the enclosure). Titles and labels follow API.Language and
// API.SiteName.
//
// Writes are serialised in the store (one write turn, waited for in order and with the
// request's context) and each request's changes are one transaction: 40 concurrent PATCHes of
// a replay all succeed and apply one after the other. A write that still meets SQLite's lock
// held by another component past the busy timeout returns ErrBusy: 503 with Retry-After.
//
// Requests without an animator credential see only published replays in lists and reports.
// sort= takes published_at, created_at, title, duration_ms (- prefix: descending), newest (most
// recently added first) or relevance (needs q). A search without sort= is ordered by relevance,
// except when more than 500 replays match: such a broad search lists the newest first.
//
// The total of GET /api/replays is exact up to 2 000 matches, 500 for a search (q=), or up to
// the end of the page asked for, when further. Beyond, the list reports "total_exact": false and
// total is the number of replays counted, a lower bound ("500+"); next_offset still tells
// whether a next page exists. Counting all 90 000 published replays, or the 47 000 matches of a
// common word, reads the whole index behind the query and alone costs 6-25 ms at 100 000
// replays; a bounded count stops early. A search counts lower because it tests its words on
// every replay it passes rather than reading an index entry (on PostgreSQL 4-7 ms to find 2 000
// matches of a broad search).
//
// A search's last word matches as a prefix; the full-text index keeps prefix indexes of 1 to 12
// characters, so that such a search streams its matches. A last word longer than 12 characters
// still makes SQLite merge the doclists of every term it begins (about 5 ms for a common word at
// 100 000 replays).
//
// The store runs on SQLite or PostgreSQL (internal/sqldb); its schema is goose migrations under
// migrations/, per dialect. The full text is the one part whose SQL differs (search.go): on
// PostgreSQL a tsvector under a GIN index, accents and case folded as on SQLite, plus French and
// English stems in the replay's or the subtitle track's language.
package catalog
