package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestPresetTagRules runs each preset's rule over tag names its project really published
// (GitHub release tags of jitsi/jitsi-meet and CollaboraOnline/online).
func TestPresetTagRules(t *testing.T) {
	tests := []struct {
		preset, tag, want string // want "" = not a release of the preset
	}{
		{"jitsi-meet", "stable/jitsi-meet_9909", "2.0.9909"},
		{"jitsi-meet", "stable/jitsi-meet_10184", "2.0.10184"},
		{"jitsi-meet", "stable/jitsi-meet_4548", "2.0.4548"},
		{"jitsi-meet", "stable/jitsi-meet_11248", "2.0.11248"},
		{"jitsi-meet", " stable/jitsi-meet_7882 ", "2.0.7882"},
		{"jitsi-meet", "stable/jitsi-meet_", ""},
		{"jitsi-meet", "9909", ""},
		{"jitsi-meet", "stable/jitsi-meet_9909-1", ""},
		{"jitsi-meet", "v2.0.9909", ""},
		{"collabora-online", "cp-24.04.5-4", "24.04.5.4"},
		{"collabora-online", "cp-25.04.6-1", "25.04.6.1"},
		{"collabora-online", "cp-25.04.9-4", "25.04.9.4"},
		{"collabora-online", "cp-24.04.10-2", "24.04.10.2"},
		{"collabora-online", "cp-24.04.5", ""},
		{"collabora-online", "24.04.5-4", ""},
		{"collabora-online", "cp-24.04.5-4-snapshot", ""},
	}
	for _, tt := range tests {
		t.Run(tt.preset+"/"+tt.tag, func(t *testing.T) {
			p, ok := PresetOf(tt.preset)
			if !ok || p.TagRule == nil {
				t.Fatalf("preset %q has no tag rule", tt.preset)
			}
			got, ok := p.TagRule.Apply(tt.tag)
			if got != tt.want || ok != (tt.want != "") {
				t.Fatalf("Apply(%q) = %q %v, want %q", tt.tag, got, ok, tt.want)
			}
		})
	}
	// The versions the rules make sort as the releases came out.
	for _, pair := range [][2]string{
		{"stable/jitsi-meet_9909", "stable/jitsi-meet_10184"},
		{"cp-24.04.5-4", "cp-24.04.10-2"},
		{"cp-24.04.10-2", "cp-25.04.6-1"},
		{"cp-25.04.9-3", "cp-25.04.9-4"},
	} {
		older, newer := pair[0], pair[1]
		rule := presetBySlug["jitsi-meet"].TagRule
		if strings.HasPrefix(older, "cp-") {
			rule = presetBySlug["collabora-online"].TagRule
		}
		a, _ := rule.Apply(older)
		b, _ := rule.Apply(newer)
		if c, err := CompareVersions(a, b); err != nil || c >= 0 {
			t.Errorf("%s (%s) should sort before %s (%s): %d %v", older, a, newer, b, c, err)
		}
	}
}

// TestEntryVersion reads real release entries of the presets: the tag in a forge link or id, the
// title, and the presets without a rule through ExtractVersion.
func TestEntryVersion(t *testing.T) {
	tests := []struct {
		slug, title, link, guid, want string
	}{
		{"jitsi-meet", "Release notes", "https://github.com/jitsi/jitsi-meet/releases/tag/stable/jitsi-meet_9909",
			"tag:github.com,2008:Repository/15355489/stable/jitsi-meet_9909", "2.0.9909"},
		{"jitsi-meet", "stable/jitsi-meet_10184", "", "", "2.0.10184"},
		{"jitsi-meet", "x", "https://github.com/jitsi/jitsi-meet/releases/tag/stable%2Fjitsi-meet_8719", "", "2.0.8719"},
		{"jitsi-meet", "Nightly 1.2.3", "https://github.com/jitsi/jitsi-meet/releases/tag/jitsi-meet_9910", "", ""},
		{"collabora-online", "Collabora Online 25.04.6", "https://github.com/CollaboraOnline/online/releases/tag/cp-25.04.6-1", "", "25.04.6.1"},
		{"nextcloud", "v30.0.4", "https://github.com/nextcloud/server/releases/tag/v30.0.4", "", "30.0.4"},
		{"bigbluebutton", "v3.0.0-beta.2", "https://github.com/bigbluebutton/bigbluebutton/releases/tag/v3.0.0-beta.2", "", "3.0.0-beta.2"},
		{"bigbluebutton", "BigBlueButton 2.4-rc-6", "", "", "2.4-rc-6"},
		{"onlyoffice-docs", "ONLYOFFICE Docs v9.4.0", "https://github.com/ONLYOFFICE/DocumentServer/releases/tag/v9.4.0", "", "9.4.0"},
		{"mobilizon", "Mobilizon", "https://framagit.org/framasoft/mobilizon/-/releases/5.1.0", "", "5.1.0"},
		{"discourse", "v3.4.0.beta3", "", "", "3.4.0.beta3"},
	}
	for _, tt := range tests {
		t.Run(tt.slug+"/"+tt.title, func(t *testing.T) {
			got, ok := entryVersion(tt.slug, tt.title, tt.link, tt.guid)
			if got != tt.want || ok != (tt.want != "") {
				t.Fatalf("entryVersion = %q %v, want %q", got, ok, tt.want)
			}
			if ok {
				if _, err := ParseVersion(got); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestPresetsAreComplete(t *testing.T) {
	want := []string{"nextcloud", "rocketchat", "onlyoffice-docs", "jitsi-meet", "collabora-online", "bigbluebutton",
		"mattermost", "discourse", "element", "peertube", "mobilizon", "etherpad"}
	var got []string
	for _, p := range Presets() {
		got = append(got, p.Slug)
		if !strings.HasSuffix(p.ReleaseFeed, "/releases.atom") || !strings.HasPrefix(p.ReleaseFeed, "https://") {
			t.Errorf("%s: release feed %q is no forge releases Atom feed", p.Slug, p.ReleaseFeed)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("presets = %v, want %v", got, want)
	}
}

// TestSyncAppliesPresetTagRule syncs a GitHub-shaped releases.atom of Jitsi Meet: the versions
// come from the preset's rule (2.0.BUILD), not from the bare build number ExtractVersion sees.
func TestSyncAppliesPresetTagRule(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/atom+xml")
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>tag:github.com,2008:https://github.com/jitsi/jitsi-meet/releases</id>
  <title>Release notes from jitsi-meet</title>
  <updated>2024-11-05T10:00:00Z</updated>`)
		for i, tag := range []string{"stable/jitsi-meet_9909", "stable/jitsi-meet_9823", "jitsi-meet_9910"} {
			fmt.Fprintf(w, `
  <entry>
    <id>tag:github.com,2008:Repository/15355489/%s</id>
    <updated>2024-10-%02dT10:00:00Z</updated>
    <link rel="alternate" type="text/html" href="https://github.com/jitsi/jitsi-meet/releases/tag/%s"/>
    <title>Release %d</title>
    <content type="html">notes</content>
  </entry>`, tag, 20-i, tag, i)
		}
		fmt.Fprint(w, "\n</feed>\n")
	}))
	defer srv.Close()
	p, _ := PresetOf("jitsi-meet")
	if _, err := s.CreateSoftware(ctx, NewSoftware{Slug: p.Slug, Name: p.Name, Homepage: p.Homepage, ReleaseFeed: srv.URL}); err != nil {
		t.Fatal(err)
	}
	res, err := s.SyncReleases(ctx, SyncOptions{Software: p.Slug, AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Skipped != 1 {
		t.Fatalf("results = %+v, want the non-stable tag skipped", res)
	}
	sw, err := s.Software(ctx, p.Slug)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range sw.Releases {
		got = append(got, r.Version)
		if r.Reviewed || r.Source != SourceFeed {
			t.Errorf("release %s: reviewed=%v source=%s, want an unreviewed feed release", r.Version, r.Reviewed, r.Source)
		}
	}
	if want := []string{"2.0.9909", "2.0.9823"}; !slices.Equal(got, want) {
		t.Fatalf("releases = %v, want %v (newest first)", got, want)
	}
}

// TestSyncSoftwareAPI: POST /api/software/{slug}/sync reads one feed now and says what it added
// (Collabora's tags through the preset's rule), and names what is wrong otherwise.
func TestSyncSoftwareAPI(t *testing.T) {
	f := newFixture(t)
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down.atom" {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/atom+xml")
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>x</id><title>Release notes from online</title><updated>2025-06-01T00:00:00Z</updated>`)
		for i, tag := range []string{"cp-25.04.6-1", "cp-24.04.5-4", "co-25.04.6-2-snapshot"} {
			fmt.Fprintf(w, `<entry><id>tag:github.com,2008:Repository/1/%s</id><updated>2025-0%d-01T00:00:00Z</updated>
<link rel="alternate" href="https://github.com/CollaboraOnline/online/releases/tag/%s"/><title>Release</title></entry>`, tag, 5-i, tag)
		}
		fmt.Fprint(w, "</feed>")
	}))
	defer feed.Close()
	f.json("POST", "/api/software", true, `{"slug":"collabora-online","name":"Collabora Online","release_feed":"`+feed.URL+`/online/releases.atom"}`, 201, nil)
	f.json("POST", "/api/software", true, `{"slug":"broken","name":"Broken","release_feed":"`+feed.URL+`/down.atom"}`, 201, nil)
	f.json("POST", "/api/software", true, `{"slug":"nofeed","name":"No feed"}`, 201, nil)

	if code, _ := f.do("POST", "/api/software/collabora-online/sync", false, ""); code != http.StatusUnauthorized {
		t.Fatalf("sync without a token: %d, want 401", code)
	}
	var res struct {
		Software string    `json:"software"`
		Added    []Release `json:"added"`
		Skipped  int       `json:"skipped"`
	}
	f.json("POST", "/api/software/collabora-online/sync", true, "", 200, &res)
	var added []string
	for _, r := range res.Added {
		added = append(added, r.Version)
	}
	if res.Software != "collabora-online" || res.Skipped != 1 || !slices.Equal(added, []string{"24.04.5.4", "25.04.6.1"}) {
		t.Fatalf("sync answered %+v (added %v)", res, added)
	}
	// A second sync adds nothing.
	f.json("POST", "/api/software/collabora-online/sync", true, "", 200, &res)
	if len(res.Added) != 0 {
		t.Fatalf("second sync added %+v", res.Added)
	}

	for _, tc := range []struct {
		slug  string
		code  int
		field string
		want  string
	}{
		{"nofeed", 422, "release_feed", "has no release feed"},
		{"broken", 502, "", feed.URL + "/down.atom"},
		{"unknown", 404, "", ""},
	} {
		code, b := f.do("POST", "/api/software/"+tc.slug+"/sync", true, "")
		var body struct{ Error, Field string }
		_ = json.Unmarshal(b, &body)
		if code != tc.code || body.Field != tc.field || !strings.Contains(body.Error, tc.want) {
			t.Errorf("sync %s: %d %s, want %d field %q mentioning %q", tc.slug, code, b, tc.code, tc.field, tc.want)
		}
	}
}
