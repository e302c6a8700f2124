package web

import (
	"context"

	"codeberg.org/atelier/atelier/catalog"
)

// replayQuery is what the catalog pages ask for; it mirrors GET /api/replays' filters.
type replayQuery struct {
	Software, Version, For, Status, Language, Q string
	Limit, Offset                               int
}

// listReplays lists the published replays matching q, and how many match in all.
func (s *Site) listReplays(ctx context.Context, q replayQuery) ([]catalog.Replay, int, error) {
	if s.catalog == nil {
		return nil, 0, nil
	}
	// The catalog's list query is not there yet: the pages show no list until it lands.
	return nil, 0, nil
}
