package catalog

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Preset is a libre software that collectives commonly teach, with its real public release feed
// (the releases Atom feed of the project's forge), offered to a new install with one click each.
// Nothing is added unless an animator asks: a preset becomes a Software through CreateSoftware.
type Preset struct {
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	Homepage    string `json:"homepage"`
	ReleaseFeed string `json:"release_feed"`
	// TagRule, when set, turns the project's release tags into versions; without it the feed
	// sync finds the version in the entry's title or tag (ExtractVersion).
	TagRule *TagRule `json:"tag_rule,omitempty"`
}

// TagRule maps a release tag that is not a plain version (Jitsi's stable/jitsi-meet_9909,
// Collabora's cp-24.04.5-4) onto an orderable version: Match is a regular expression over the
// whole tag and Version its expansion ($1, $2…). A tag the rule does not match is no release
// of the preset (Jitsi also tags its SDKs and nightly builds).
type TagRule struct {
	Match   string `json:"match"`
	Version string `json:"version"`
	Why     string `json:"why"`
	// Example is a real tag of the project, shown to animators with the version it becomes.
	Example string `json:"example"`
	re      *regexp.Regexp
}

// Apply returns the version tag stands for, or false when the rule does not match it or makes
// no valid version of it.
func (r *TagRule) Apply(tag string) (string, bool) {
	m := r.re.FindStringSubmatchIndex(strings.TrimSpace(tag))
	if m == nil {
		return "", false
	}
	v := string(r.re.ExpandString(nil, r.Version, strings.TrimSpace(tag), m))
	if _, err := ParseVersion(v); err != nil {
		return "", false
	}
	return v, true
}

//go:embed presets.json
var presetsJSON []byte

var presets, presetBySlug = mustLoadPresets(presetsJSON)

func mustLoadPresets(b []byte) ([]Preset, map[string]Preset) {
	var list []Preset
	if err := json.Unmarshal(b, &list); err != nil {
		panic(fmt.Sprintf("catalog: presets.json: %v", err))
	}
	by := map[string]Preset{}
	for i, p := range list {
		if !slugRE.MatchString(p.Slug) || p.Name == "" || validURL("homepage", p.Homepage) != nil ||
			validURL("release_feed", p.ReleaseFeed) != nil {
			panic(fmt.Sprintf("catalog: presets.json: preset %q is incomplete", p.Slug))
		}
		if p.TagRule != nil {
			list[i].TagRule.re = regexp.MustCompile(p.TagRule.Match)
			if _, ok := list[i].TagRule.Apply(p.TagRule.Example); !ok {
				panic(fmt.Sprintf("catalog: presets.json: preset %q: the rule does not read its example tag", p.Slug))
			}
		}
		by[p.Slug] = list[i]
	}
	return list, by
}

// Presets returns the software presets, in the order a new install offers them.
func Presets() []Preset { return append([]Preset(nil), presets...) }

// ExampleVersion is the version the rule reads in its example tag.
func (r *TagRule) ExampleVersion() string {
	v, _ := r.Apply(r.Example)
	return v
}

// PresetOf returns the preset whose slug is slug.
func PresetOf(slug string) (Preset, bool) {
	p, ok := presetBySlug[slug]
	return p, ok
}

// entryVersion finds the version a release-feed entry of software slug announces. A software
// added from a preset with a tag rule (same slug) reads the entry's tag through the rule, even
// when its feed was moved to a mirror: the tags stay the project's. Any other software uses
// ExtractVersion on the title, then the last segments of the link and id.
func entryVersion(slug, title, link, guid string) (string, bool) {
	if p, ok := presetBySlug[slug]; ok && p.TagRule != nil {
		for _, text := range []string{releaseTag(link), title, releaseTag(guid)} {
			if v, ok := p.TagRule.Apply(text); ok {
				return v, true
			}
		}
		return "", false
	}
	return ExtractVersion(title, lastSegment(link), lastSegment(guid))
}

// releaseTag returns the tag a forge's release link or entry id names, slashes included:
// GitHub's …/releases/tag/stable%2Fjitsi-meet_9909 and tag:github.com,2008:Repository/N/TAG,
// GitLab's …/-/releases/TAG. Anything else is returned as is.
func releaseTag(s string) string {
	for _, marker := range []string{"/releases/tag/", "/-/releases/"} {
		if i := strings.Index(s, marker); i >= 0 {
			s = s[i+len(marker):]
			if u, err := url.PathUnescape(s); err == nil {
				s = u
			}
			return s
		}
	}
	if rest, ok := strings.CutPrefix(s, "tag:github.com,2008:Repository/"); ok {
		if _, tag, ok := strings.Cut(rest, "/"); ok {
			return tag
		}
	}
	return s
}
