package web

import (
	"context"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/httpapi"
)

// replayQuery is what the catalog pages ask for; it mirrors GET /api/replays' filters.
type replayQuery struct {
	Software, Version, For, Status, Language, Q string
	Limit, Offset                               int
}

// listReplays lists the published replays matching q, and how many match in all; exact is false
// when the catalog stopped counting (total is then a lower bound).
func (s *Site) listReplays(ctx context.Context, q replayQuery) (items []catalog.Replay, total int, exact bool, err error) {
	if s.catalog == nil {
		return nil, 0, true, nil
	}
	l, err := s.catalog.ListReplays(ctx, catalog.ListOptions{
		Public: true, Software: q.Software, Version: q.Version, For: q.For, Status: q.Status, Language: q.Language, Q: q.Q,
		Page: httpapi.Page{Limit: q.Limit, Offset: q.Offset},
	})
	if err != nil {
		return nil, 0, false, err
	}
	return l.Items, l.Total, l.TotalExact, nil
}
