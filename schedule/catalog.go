package schedule

import (
	"context"

	"codeberg.org/atelier/atelier/catalog"
)

// TagChecker validates software@version tags (the catalog's CheckTags): an unknown software is
// an *httpapi.InvalidError naming field+"[i].software".
type TagChecker interface {
	CheckTags(ctx context.Context, field string, tags []Document) error
}

// Catalog is what schedule needs from the catalog: checking tags, finding the published replay of
// a workshop, and the replay and release a re-recording starts from. cmd/atelier adapts
// *catalog.Store to it; tests use the real store.
type Catalog interface {
	TagChecker
	// PublishedReplayForWorkshop returns the id of the published replay recorded at workshopID.
	PublishedReplayForWorkshop(ctx context.Context, workshopID string) (replayID string, ok bool, err error)
	// Replay returns the replay with id, or an error wrapping httpapi.ErrNotFound.
	Replay(ctx context.Context, id string) (Replay, error)
	// LatestRelease returns the newest known version of software.
	LatestRelease(ctx context.Context, software string) (version string, err error)
}

// Replay is the part of a catalog replay that schedule uses.
type Replay struct {
	ID          string
	Title       string
	Description string
	Language    string
	WorkshopID  string
	Documents   []Document
	// Published is false for a draft or unlisted replay: its title and link must then stay out of
	// anything public, such as the workshop a reschedule creates.
	Published bool
}

// FromCatalog adapts the real catalog store to Catalog.
func FromCatalog(s *catalog.Store) Catalog { return catalogStore{s} }

type catalogStore struct{ s *catalog.Store }

var _ Catalog = catalogStore{}

func (c catalogStore) CheckTags(ctx context.Context, field string, tags []Document) error {
	t := make([]catalog.Tag, len(tags))
	for i, d := range tags {
		t[i] = catalog.Tag{Software: d.Software, Version: d.Version}
	}
	return c.s.CheckTags(ctx, field, t)
}

func (c catalogStore) PublishedReplayForWorkshop(ctx context.Context, workshopID string) (string, bool, error) {
	return c.s.PublishedReplayForWorkshop(ctx, workshopID)
}

func (c catalogStore) Replay(ctx context.Context, id string) (Replay, error) {
	r, err := c.s.Replay(ctx, id)
	if err != nil {
		return Replay{}, err
	}
	out := Replay{ID: r.ID, Title: r.Title, Description: r.Description, Language: r.Language, WorkshopID: r.WorkshopID,
		Published: r.Publication == catalog.Published}
	for _, t := range r.Documents {
		out.Documents = append(out.Documents, Document{Software: t.Software, Version: t.Version})
	}
	return out, nil
}

func (c catalogStore) LatestRelease(ctx context.Context, software string) (string, error) {
	return c.s.LatestRelease(ctx, software)
}
