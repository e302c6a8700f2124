package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// Render generations (assets/layout): every run of the job writes its outputs, subtitle tracks
// included, under a fresh replays/{id}/r/{render}/ while the replay goes on being served from
// its current generation, which the catalog records (catalog.Replay.Render). Once the new
// generation is complete the job switches the replay to it in one catalog write (SetRender) and
// only then removes every other generation (pruneRenders). A learner streaming during a re-cut
// reads the previous outputs, whole, until the switch, and the new ones after it; a failed or
// cancelled render only removes its own generation.
//
// The catalog owns the current render rather than the recording: the web stream handler
// already reads the catalog replay (its publication) on every request and must not depend on
// the pipeline, and the subtitle step, which publishes a changed track into the current
// generation, talks to the catalog too.

// newRender makes a render generation id: 8 random hex characters, unique enough among the
// few generations one replay ever has at once.
func newRender() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// currentRender is the generation the replay of id is served from; "" for the flat layout, a
// replay never rendered, or no replay.
func (s *Service) currentRender(ctx context.Context, id string) (string, error) {
	rp, err := s.cfg.Catalog.Replay(ctx, id)
	if errors.Is(err, catalog.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("pipeline: current render of %s: %w", id, err)
	}
	return rp.Render, nil
}

// pruneRenders removes every stored output of the replay of id that is not in its current
// generation: the previous one after a switch, a failed or cancelled render's, leftovers of a
// crash. Subtitle tracks are part of each generation, so they go too. Failures are logged: what
// stays is removed by the next prune.
func (s *Service) pruneRenders(ctx context.Context, id string) {
	render, err := s.currentRender(ctx, id)
	if err != nil {
		s.log.Warn("not removing old outputs: the catalog does not answer", "recording_id", id, "error", err)
		return
	}
	cur := layout.Replay(id).Render(render)
	objs, err := s.cfg.Store.List(ctx, cur.AllPrefix())
	if err != nil {
		s.log.Warn("listing outputs to remove", "recording_id", id, "error", err)
		return
	}
	n := 0
	for _, o := range objs {
		if cur.Owns(o.Key) {
			continue
		}
		if err := s.cfg.Store.Delete(ctx, o.Key); err != nil && !errors.Is(err, assets.ErrNotExist) {
			s.log.Warn("removing an old output", "recording_id", id, "key", o.Key, "error", err)
			continue
		}
		n++
	}
	if n > 0 {
		s.log.Info("removed outputs of other renders", "recording_id", id, "render", render, "count", n)
	}
}

// republishChanged publishes the subtitle tracks again, into the replay's generation now
// current, when a source-time track was stored since the job published them (since): a
// correction sent through the subtitle API while a re-cut ran is stored and left to the job
// (the recording is not ready), and must not be lost between the job's subtitle step and the
// switch. Stores date objects to the second at worst: since is truncated, so that a doubt
// publishes again (cheap) rather than loses an edit. A failure is logged: the replay is switched.
func (s *Service) republishChanged(ctx context.Context, id string, since time.Time, actual []media.Span, by string) {
	if s.cfg.Tracks == nil {
		return
	}
	objs, err := s.cfg.Store.List(ctx, layout.Recording(id).SubtitlePrefix())
	if err != nil {
		s.log.Warn("checking for subtitle changes during the render", "recording_id", id, "error", err)
		return
	}
	since = since.Truncate(time.Second)
	for _, o := range objs {
		if o.ModTime.Before(since) {
			continue
		}
		if _, err := s.cfg.Tracks.PublishAll(ctx, id, actual, by); err != nil {
			s.log.Warn("publishing subtitles changed during the render", "recording_id", id, "error", err)
		}
		return
	}
}
