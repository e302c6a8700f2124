package web

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/httpapi"
)

// softwareRow is one software of the studio's list, with how many of its releases wait for an
// animator's review.
type softwareRow struct {
	catalog.Software
	ToReview int
}

// SoftwareList is /studio/software: the software the replays teach, the presets not added yet
// (one click each, through POST /api/software) and a form for any other software.
func (s *Site) SoftwareList(w http.ResponseWriter, r *http.Request) error {
	sess, ok, err := s.studioSession(w, r)
	if !ok {
		return err
	}
	if s.catalog == nil {
		return fmt.Errorf("web: no catalog: %w", httpapi.ErrUnavailable)
	}
	list, err := s.catalog.ListSoftware(r.Context())
	if err != nil {
		return err
	}
	rows := make([]softwareRow, len(list))
	have := map[string]bool{}
	for i, sw := range list {
		have[sw.Slug] = true
		// The list leaves releases out; a collective follows a dozen software at most.
		full, err := s.catalog.Software(r.Context(), sw.Slug)
		if err != nil {
			return err
		}
		rows[i] = softwareRow{Software: sw}
		for _, rel := range full.Releases {
			if !rel.Reviewed {
				rows[i].ToReview++
			}
		}
	}
	var presets []catalog.Preset
	for _, p := range catalog.Presets() {
		if !have[p.Slug] {
			presets = append(presets, p)
		}
	}
	return s.render(w, r, http.StatusOK, "studio_software", "ssw.title", map[string]any{
		"Who": sess.Principal, "Software": rows, "Presets": presets,
	})
}

// SoftwareEdit is /studio/software/{slug}: edit the name, homepage and release feed, read the
// feed now, and review the releases newest first (the feed's are marked "to review").
func (s *Site) SoftwareEdit(w http.ResponseWriter, r *http.Request) error {
	sess, ok, err := s.studioSession(w, r)
	if !ok {
		return err
	}
	if s.catalog == nil {
		return fmt.Errorf("web: no catalog: %w", httpapi.ErrUnavailable)
	}
	sw, err := s.catalog.Software(r.Context(), mux.Vars(r)["slug"])
	if err != nil {
		return err
	}
	preset, isPreset := catalog.PresetOf(sw.Slug)
	var rule *catalog.TagRule
	if isPreset {
		rule = preset.TagRule
	}
	return s.render(w, r, http.StatusOK, "studio_software_edit", "ssw.title", map[string]any{
		"Who": sess.Principal, "SW": sw, "TagRule": rule,
	})
}
