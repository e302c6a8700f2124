package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// First playable, then the ladder (issue #12): the job publishes the replay as soon as one
// rendition exists — the cut output copied into HLS (media.RenderPlayable), with the MP4,
// poster, storyboard, chapters and subtitles — by switching the catalog to the new render
// generation: the recording reports "playable" and learners can watch it (publication rules
// unchanged: the catalog's state is ready). The lower rungs are then encoded one by one into
// the same generation; after each, hls/variants.json and hls/master.m3u8 are replaced whole
// (segments are never rewritten), so a player that loads the master gets the rungs done so
// far. The recording becomes ready when the ladder (and a burned-in rendition, if asked) is
// done. A rung that fails to encode ends the ladder early: the replay stays playable with what
// it has, and the failure is logged.

// renderPlayable renders and publishes the playable replay of rec from the cut at cutPath,
// then its ladder, and returns the keys of every output.
func (s *Service) renderPlayable(ctx context.Context, rec Recording, src string, res media.CutResult, cutPath, outDir string, rep *reporter) ([]string, error) {
	id, plan := rec.ID, rec.Plan
	if err := os.RemoveAll(outDir); err != nil {
		return nil, transient(err, "the server could not clean its work directory")
	}
	chapters := ReplayChapters(res.Actual, plan.Chapters)
	mch := make([]media.Chapter, len(chapters))
	for i, c := range chapters {
		mch[i] = c.Chapter // the time and title; the documents go to the catalog
	}
	pl, err := media.RenderPlayable(ctx, cutPath, outDir, media.RenderOptions{
		Ladder: s.cfg.Ladder, Loudnorm: plan.Loudnorm, Chapters: mch,
	}, rep.media("render"))
	if err != nil {
		return nil, mediaError(err, "rendering")
	}
	if !pl.Copied {
		s.log.Info("first rendition encoded, not copied", "recording_id", id, "why", pl.Fallback)
	}
	// A fresh generation (render.go): the current one stays served until the switch below.
	render := newRender()
	gen := layout.Replay(id).Render(render)
	keys, err := s.upload(ctx, gen, outDir, pl.Files, rep)
	if err != nil {
		return nil, err
	}
	published := time.Now()
	if s.cfg.Tracks != nil {
		rep.stage("subtitles", 0, 0)
		if _, err := s.cfg.Tracks.PublishReplay(ctx, gen, plan.Language, src, res.Actual, rec.CreatedBy); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, transient(err, "publishing the subtitles failed")
		}
	}
	if !s.stillHolds(ctx, id, rec.JobID) {
		return nil, errLeaseLost // another worker has it now: switching to this render is its call
	}
	err = s.writeCatalog(ctx, id, plan, replayState{Processing: catalog.Ready, Actual: res.Actual, Duration: pl.Duration, Render: render})
	if err != nil {
		return nil, transient(err, "the catalog could not be updated")
	}
	s.republishChanged(context.WithoutCancel(ctx), id, published, res.Actual, rec.CreatedBy)
	if err := s.store.setPlayable(ctx, id); err != nil {
		return nil, transient(err, "the database is unavailable")
	}
	s.changes.notify()
	s.log.Info("replay playable", "recording_id", id, "render", render, "copied", pl.Copied, "rungs_left", len(pl.Rungs))
	s.pruneRenders(context.WithoutCancel(ctx), id)

	st := ladderState{Render: render, Playable: pl, Keys: keys}
	if err := st.save(s.workDir(id)); err != nil {
		return nil, transient(err, "the server could not write its work directory")
	}
	// Work order: the first playable rendition of every recording waiting for one comes before
	// this ladder. The job goes back to the queue (Work snoozes it) and resumes here.
	if n, err := s.store.waitingForPlayable(ctx, id); err == nil && n > 0 {
		return nil, errLadderLater
	}
	return s.ladderPhase(ctx, rec, st, cutPath, outDir, rep)
}

// errLadderLater is returned by process when the replay is playable and its ladder waits for
// the first playable rendition of other recordings.
var errLadderLater = errors.New("pipeline: ladder after the first playable of waiting recordings")

// ladderState is what the ladder needs from the playable step, kept in the work directory so
// that a job put back in the queue after it resumes with the ladder.
type ladderState struct {
	Render   string         `json:"render"`
	Playable media.Playable `json:"playable"`
	Keys     []string       `json:"keys"` // stored so far
}

func ladderFile(workDir string) string { return filepath.Join(workDir, "ladder.json") }

func (st ladderState) save(workDir string) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return os.WriteFile(ladderFile(workDir), b, 0o600)
}

// resumeLadder returns the saved ladder state of rec when its job left after the playable step
// on this machine and the replay is still served from that render; else false (start over).
func (s *Service) resumeLadder(ctx context.Context, rec Recording) (ladderState, bool) {
	if rec.PlayableAt.IsZero() {
		return ladderState{}, false
	}
	b, err := os.ReadFile(ladderFile(s.workDir(rec.ID)))
	if err != nil {
		return ladderState{}, false
	}
	var st ladderState
	if json.Unmarshal(b, &st) != nil || st.Render == "" {
		return ladderState{}, false
	}
	if cur, err := s.currentRender(ctx, rec.ID); err != nil || cur != st.Render {
		return ladderState{}, false
	}
	if _, err := os.Stat(filepath.Join(s.workDir(rec.ID), "out", "video.mp4")); err != nil {
		return ladderState{}, false
	}
	return st, true
}

// ladderPhase encodes and publishes the rungs of st, then the burned-in rendition the plan asks
// for, and returns the keys of every output.
func (s *Service) ladderPhase(ctx context.Context, rec Recording, st ladderState, cutPath, outDir string, rep *reporter) ([]string, error) {
	id, plan := rec.ID, rec.Plan
	gen := layout.Replay(id).Render(st.Render)
	keys := st.Keys
	more, err := s.renderLadder(ctx, id, gen, st.Playable, outDir, rep)
	keys = append(keys, more...)
	if err != nil {
		return nil, err
	}
	if plan.BurnIn != "" {
		// The cut points of this run (rec was read before the cut stored them).
		cur, err := s.store.get(ctx, id)
		if err != nil {
			return nil, transient(err, "the database is unavailable")
		}
		f, err := s.renderBurnIn(ctx, id, plan, cur.Actual, cutPath, outDir, rep.media("ladder"))
		if err != nil {
			return nil, err
		}
		k, err := s.upload(ctx, gen, outDir, []string{f}, rep)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k...)
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// renderLadder encodes the rungs of pl one by one into gen, publishing each as it is done.
func (s *Service) renderLadder(ctx context.Context, id string, gen layout.Replay, pl media.Playable, outDir string, rep *reporter) ([]string, error) {
	rep.inLadder = true
	defer func() { rep.inLadder, rep.eta = false, nil }()
	variants := pl.Variants
	var keys []string
	n := len(pl.Rungs)
	for i, r := range pl.Rungs {
		rest := pl.Rungs[i+1:]
		rep.eta = func(f, speed float64) (time.Duration, bool) {
			return media.LadderETA(pl.Duration, time.Duration(f*float64(pl.Duration)), speed, r, rest)
		}
		v, files, err := media.RenderRung(ctx, outDir, pl, r, func(p media.Progress) {
			rep.stage("ladder", (float64(i)+p.Fraction)/float64(n), p.Speed)
		})
		if err != nil {
			if ctx.Err() != nil {
				return keys, ctx.Err()
			}
			s.log.Error("rung failed; the replay stays playable without it and the rungs after it", "recording_id", id, "rung", r.Name(), "error", err)
			break
		}
		k, err := s.upload(ctx, gen, outDir, files, rep)
		if err != nil {
			return keys, err
		}
		keys = append(keys, k...)
		variants = media.LadderVariants(variants, v)
		if err := s.publishLadder(ctx, gen, outDir, variants); err != nil {
			return keys, err
		}
		s.log.Info("rung added", "recording_id", id, "rung", r.Name(), "variants", len(variants))
	}
	return keys, nil
}

// publishLadder replaces hls/variants.json and hls/master.m3u8 of gen with variants, the master
// with the replay's subtitle renditions (subtitle.Tracks.WriteMaster) when tracks are kept.
func (s *Service) publishLadder(ctx context.Context, gen layout.Replay, outDir string, variants []media.Variant) error {
	if err := media.WriteLadder(outDir, variants); err != nil {
		return transient(err, "the server could not write its work directory")
	}
	// variants.json first: a subtitle change meanwhile rebuilds the master from it.
	if _, err := s.upload(ctx, gen, outDir, []string{media.VariantsFile, "hls/master.m3u8"}, nil); err != nil {
		return err
	}
	if s.cfg.Tracks == nil {
		return nil
	}
	rp, err := s.cfg.Catalog.Replay(ctx, gen.ID())
	if err != nil && !errors.Is(err, catalog.ErrNotFound) {
		return transient(err, "the catalog is unavailable")
	}
	if err := s.cfg.Tracks.WriteMaster(ctx, gen, rp.Tracks); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return transient(fmt.Errorf("pipeline: master of %s: %w", gen.ID(), err), "publishing the master playlist failed")
	}
	return nil
}
