package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/pipeline/media"
	"codeberg.org/atelier/atelier/pipeline/subtitle"
)

// First playable, then the ladder (issue #12): the job publishes the replay as soon as one
// rendition exists — the cut output copied into HLS (media.RenderPlayable), with the poster,
// chapters and subtitles; for a source the cut must re-encode, one fast rung encoded from the
// source before the cut (media.RenderFastFirst) — by switching the catalog to the new render
// generation: the recording reports "playable" and learners can watch it (publication rules
// unchanged: the catalog's state is ready). What nobody needs to start watching comes next, into
// the same generation: the full-quality cut when it was put off, video.mp4 (the download and
// the player's fallback), audio.m4a and the storyboard (media.RenderExtras), then the lower
// rungs one by one; after each rung, hls/variants.json and hls/master.m3u8 are replaced whole
// in the master's turn (master.go; segments are never rewritten), so a player that loads the
// master gets the rungs done so far. The recording becomes ready when the ladder (and a burned-in rendition, if asked) is
// done. A rung that fails to encode ends the ladder early: the replay stays playable with what
// it has, and the failure is logged.

// renderPlayable renders and publishes the playable replay of rec from the cut at cutPath,
// then its ladder, and returns the keys of every output.
func (s *Service) renderPlayable(ctx context.Context, rec Recording, src string, res media.CutResult, cutPath, outDir string, rep *reporter) ([]string, error) {
	if err := os.RemoveAll(outDir); err != nil {
		return nil, transient(err, "the server could not clean its work directory")
	}
	pl, err := media.RenderPlayable(ctx, cutPath, outDir, s.renderOptions(rec.Plan, res.Actual), rep.media("render"))
	if err != nil {
		return nil, mediaError(err, "rendering")
	}
	if !pl.Copied {
		s.log.Info("first rendition encoded, not copied", "recording_id", rec.ID, "why", pl.Fallback)
	}
	rep.done("render (" + stepList(pl.Timings) + ")")
	return s.publishPlayable(ctx, rec, src, res.Actual, pl, cutPath, outDir, rep)
}

// renderFastFirst makes the replay of rec playable from a source the cut re-encodes
// (media.FastFirst says why) without waiting for that full-quality re-encode: one fast rung
// straight from the source (media.RenderFastFirst); the cut, video.mp4 and the rest of the
// ladder follow (ladderPhase). It returns the keys of every output.
func (s *Service) renderFastFirst(ctx context.Context, rec Recording, src, why, cutPath, outDir string, rep *reporter) ([]string, error) {
	if err := os.RemoveAll(outDir); err != nil {
		return nil, transient(err, "the server could not clean its work directory")
	}
	fc, err := media.PlanFirstCut(ctx, src, rec.Plan.Spans, rep.media("cut"))
	if err != nil {
		return nil, mediaError(err, "cutting")
	}
	if err := s.store.setActual(ctx, rec.ID, fc.Actual, subtitle.KeptDuration(fc.Actual)); err != nil {
		return nil, transient(err, "the database is unavailable")
	}
	rep.done("scan")
	rep.stage("render", 0, 0)
	pl, err := media.RenderFastFirst(ctx, fc, outDir, s.renderOptions(rec.Plan, fc.Actual), rep.media("render"))
	if err != nil {
		return nil, mediaError(err, "rendering")
	}
	s.log.Info("first rendition encoded fast from the source, before the cut", "recording_id", rec.ID, "why", why, "rendition", pl.Variants[0].URI)
	rep.done("render fast " + strings.TrimSuffix(pl.Variants[0].URI, "/index.m3u8"))
	return s.publishPlayable(ctx, rec, src, fc.Actual, pl, cutPath, outDir, rep)
}

// stepList formats the steps of a render for the log.
func stepList(ts []media.StepTime) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%s %.2fs", t.Step, t.Took.Seconds())
	}
	return strings.Join(parts, ", ")
}

// renderOptions are the render options of plan for a replay cut at actual.
func (s *Service) renderOptions(plan Plan, actual []media.Span) media.RenderOptions {
	chapters := ReplayChapters(actual, plan.Chapters)
	mch := make([]media.Chapter, len(chapters))
	for i, c := range chapters {
		mch[i] = c.Chapter // the time and title; the documents go to the catalog
	}
	return media.RenderOptions{Ladder: s.cfg.Ladder, Loudnorm: plan.Loudnorm, Chapters: mch}
}

// replayServed reports whether the replay of recording id was already served whole (a re-cut or
// a retry after ready); when unsure, no.
func (s *Service) replayServed(ctx context.Context, id string) bool {
	r, err := s.cfg.Catalog.Replay(ctx, id)
	return err == nil && r.Processing == catalog.Ready
}

// publishPlayable stores the playable outputs pl wrote into outDir in a new render generation,
// publishes the subtitles into it and switches the replay to it (playable), then goes on with
// the ladder unless other recordings wait for their first playable rendition.
func (s *Service) publishPlayable(ctx context.Context, rec Recording, src string, actual []media.Span, pl media.Playable, cutPath, outDir string, rep *reporter) ([]string, error) {
	id, plan := rec.ID, rec.Plan
	// A fresh generation (render.go): the current one stays served until the switch below.
	render := newRender()
	gen := layout.Replay(id).Render(render)
	// video.mp4 (the whole cut again, hundreds of megabytes) is only the download and the
	// player's fallback: on a first render it is stored right after the switch, with the
	// extras. A re-render replaces a replay learners already download and fall back to: the
	// new generation gets it before the switch, so that it never answers 404 where the old
	// one answered.
	now, later := pl.Files, []string(nil)
	if i := slices.Index(now, "video.mp4"); i >= 0 && !s.replayServed(ctx, id) {
		now, later = slices.Delete(slices.Clone(now), i, i+1), []string{"video.mp4"}
	}
	keys, err := s.upload(ctx, gen, outDir, now, rep, "upload")
	if err != nil {
		return nil, err
	}
	rep.done("store")
	published := time.Now()
	if s.cfg.Tracks != nil {
		rep.stage("subtitles", 0, 0)
		if _, err := s.cfg.Tracks.PublishReplay(ctx, gen, actual, rec.CreatedBy); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, transient(err, "publishing the subtitles failed")
		}
		rep.done("subtitles")
	}
	if !s.stillHolds(ctx, id, rec.JobID) {
		return nil, errLeaseLost // another worker has it now: switching to this render is its call
	}
	err = s.writeCatalog(ctx, id, plan, replayState{Processing: catalog.Ready, Actual: actual, Duration: pl.Duration, Render: render})
	if err != nil {
		return nil, transient(err, "the catalog could not be updated")
	}
	if err := s.store.setPlayable(ctx, id); err != nil {
		return nil, transient(err, "the database is unavailable")
	}
	// After setPlayable: a subtitle change stored before the API saw the replay playable
	// (KeptSpans) is published here; one after it, by the API itself.
	s.republishChanged(context.WithoutCancel(ctx), id, published, actual, rec.CreatedBy)
	s.changes.notify()
	rep.done("switch")
	s.log.Info("replay playable", "recording_id", id, "render", render, "copied", pl.Copied, "rungs_left", len(pl.Rungs),
		"steps", strings.Join(rep.laps, ", "))
	s.pruneRenders(context.WithoutCancel(ctx), id)

	st := ladderState{Render: render, Playable: pl, Keys: keys, Later: later}
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
	// Later are outputs of the playable step stored after the switch, with the extras.
	Later []string `json:"later,omitempty"`
	// Extras: audio.m4a and the storyboard are stored (media.RenderExtras), and Later.
	Extras bool `json:"extras,omitempty"`
	// Variants are those the master lists so far: a resumed ladder does not encode (and
	// rewrite in place) a rung learners may be playing.
	Variants []media.Variant `json:"variants,omitempty"`
	// Captions: the automatic caption draft was made (or not needed) and published.
	Captions bool `json:"captions,omitempty"`
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
	if _, err := os.Stat(filepath.Join(s.workDir(rec.ID), "out", "video.mp4")); err != nil && !st.Playable.NeedsVideo {
		return ladderState{}, false
	}
	return st, true
}

// ladderPhase stores what learners did not need to start watching (video.mp4, audio.m4a, the
// storyboard), encodes and publishes the rungs of st, then the burned-in rendition the plan
// asks for, and returns the keys of every output. st is saved in the work directory after each step, so that
// a job interrupted here resumes after the last step done.
func (s *Service) ladderPhase(ctx context.Context, rec Recording, st ladderState, cutPath, outDir string, rep *reporter) ([]string, error) {
	id, plan := rec.ID, rec.Plan
	gen := layout.Replay(id).Render(st.Render)
	if st.Playable.NeedsVideo {
		// The first rendition was encoded from the source: now the full-quality cut, and
		// video.mp4 from it, which the extras and the rungs read.
		src, err := s.ensureSource(ctx, rec, rep)
		if err != nil {
			return nil, err
		}
		rep.stage("video", 0, 0)
		if _, err := media.Cut(ctx, src, plan.Spans, plan.Cut, cutPath, rep.media("video")); err != nil {
			return nil, mediaError(err, "cutting")
		}
		f, err := media.RenderVideo(ctx, cutPath, outDir, s.renderOptions(plan, nil), nil)
		if err != nil {
			return nil, mediaError(err, "rendering")
		}
		k, err := s.upload(ctx, gen, outDir, []string{f}, rep, "video")
		if err != nil {
			return nil, err
		}
		st.Keys = append(st.Keys, k...)
		rep.done("cut and video.mp4")
		st.Playable.NeedsVideo = false
		if err := st.save(s.workDir(id)); err != nil {
			return nil, transient(err, "the server could not write its work directory")
		}
	}
	if !st.Extras {
		rep.stage("extras", 0, 0)
		files, err := media.RenderExtras(ctx, outDir, st.Playable, rep.media("extras"))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// The replay plays without them: not a reason to fail it.
			s.log.Error("audio.m4a or storyboard failed; the replay goes on without them", "recording_id", id, "error", err)
		}
		k, err := s.upload(ctx, gen, outDir, append(st.Later, files...), rep, "extras")
		if err != nil {
			return nil, err
		}
		st.Keys = append(st.Keys, k...)
		rep.done(strings.Join(append([]string{"extras"}, st.Later...), " + "))
		st.Extras = true
		if err := st.save(s.workDir(id)); err != nil {
			return nil, transient(err, "the server could not write its work directory")
		}
	}
	if err := s.renderLadder(ctx, id, gen, &st, outDir, rep); err != nil {
		return nil, err
	}
	keys := st.Keys
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
		k, err := s.upload(ctx, gen, outDir, []string{f}, rep, "ladder")
		if err != nil {
			return nil, err
		}
		keys = append(keys, k...)
	}
	if !st.Captions {
		if err := s.autoCaptions(ctx, rec, rep); err != nil {
			return nil, err
		}
		st.Captions = true
		if err := st.save(s.workDir(id)); err != nil {
			return nil, transient(err, "the server could not write its work directory")
		}
	}
	s.log.Info("ladder done", "recording_id", id, "steps", strings.Join(rep.laps, ", "))
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// autoCaptions makes the automatic caption draft of rec's replay in its language, when a
// transcriber is configured and no animator's track of that language exists, and publishes it
// into the current generation. It runs last: a draft is not offered to learners until an
// animator reviews it, and a transcription can take as long as the recording. A failed
// transcription is logged: captions must not fail the replay.
func (s *Service) autoCaptions(ctx context.Context, rec Recording, rep *reporter) error {
	if s.cfg.Tracks == nil || !s.cfg.Tracks.AutoCaptions() || rec.Plan.Language == "" {
		return nil
	}
	rep.stage("captions", 0, 0)
	cur, err := s.store.get(ctx, rec.ID) // the cut points of this run
	if err != nil {
		return transient(err, "the database is unavailable")
	}
	src, err := s.ensureSource(ctx, rec, rep)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The replay is whole without its draft: not a reason to fail (or retry) the job.
		s.log.Warn("no automatic captions: the source could not be read", "recording_id", rec.ID, "error", err)
		return nil
	}
	rep.stage("captions", 0, 0) // again: a download of the source showed its own stage
	made, err := s.cfg.Tracks.AutoCaption(ctx, rec.ID, rec.Plan.Language, src, cur.Actual)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		s.log.Warn("automatic captions failed; the replay goes on without them", "recording_id", rec.ID, "lang", rec.Plan.Language, "error", err)
	}
	if made {
		if _, err := s.cfg.Tracks.PublishAll(ctx, rec.ID, cur.Actual, rec.CreatedBy); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return transient(err, "publishing the automatic captions failed")
		}
	}
	rep.done("captions")
	return nil
}

// renderLadder encodes the rungs of st.Playable not published yet one by one into gen,
// publishing each as it is done and recording it in st (saved).
func (s *Service) renderLadder(ctx context.Context, id string, gen layout.Replay, st *ladderState, outDir string, rep *reporter) error {
	rep.inLadder = true
	defer func() { rep.inLadder, rep.eta = false, nil }()
	pl := st.Playable
	if len(st.Variants) == 0 {
		st.Variants = pl.Variants
	}
	var todo []media.Rung
	for _, r := range pl.Rungs {
		if !slices.ContainsFunc(st.Variants, func(v media.Variant) bool { return v.URI == r.Name()+"/index.m3u8" }) {
			todo = append(todo, r)
		}
	}
	n := len(todo)
	for i, r := range todo {
		rest := todo[i+1:]
		rep.eta = func(f, speed float64) (time.Duration, bool) {
			return media.LadderETA(pl.Duration, time.Duration(f*float64(pl.Duration)), speed, r, rest)
		}
		v, files, err := media.RenderRung(ctx, outDir, pl, r, func(p media.Progress) {
			rep.stage("ladder", (float64(i)+p.Fraction)/float64(n), p.Speed)
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.log.Error("rung failed; the replay stays playable without it and the rungs after it", "recording_id", id, "rung", r.Name(), "error", err)
			break
		}
		k, err := s.upload(ctx, gen, outDir, files, rep, "ladder")
		if err != nil {
			return err
		}
		st.Keys = append(st.Keys, k...)
		variants := media.LadderVariants(st.Variants, v)
		if err := s.publishLadder(ctx, gen, outDir, variants); err != nil {
			return err
		}
		st.Variants = variants
		if err := st.save(s.workDir(id)); err != nil {
			return transient(err, "the server could not write its work directory")
		}
		rep.done(r.Name())
		s.log.Info("rung added", "recording_id", id, "rung", r.Name(), "variants", len(variants))
	}
	return nil
}

// publishLadder replaces hls/variants.json and hls/master.m3u8 of gen with variants, the master
// with the replay's subtitle renditions when tracks are kept (subtitle.Tracks.WriteMasterLocked,
// from the catalog's tracks), in the master's turn (master.go): a subtitle change meanwhile
// rebuilds the master from this variants.json, or before it and then this one lists its track.
func (s *Service) publishLadder(ctx context.Context, gen layout.Replay, outDir string, variants []media.Variant) error {
	if err := media.WriteLadder(outDir, variants); err != nil {
		return transient(err, "the server could not write its work directory")
	}
	return s.lockMaster(ctx, gen.ID(), func(ctx context.Context) error {
		files := []string{media.VariantsFile}
		if s.cfg.Tracks == nil {
			files = append(files, "hls/master.m3u8") // WriteLadder's, without subtitles
		}
		if _, err := s.upload(ctx, gen, outDir, files, nil, "ladder"); err != nil {
			return err
		}
		if s.cfg.Tracks == nil {
			return nil
		}
		if err := s.cfg.Tracks.WriteMasterLocked(ctx, gen, nil); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return transient(fmt.Errorf("pipeline: master of %s: %w", gen.ID(), err), "publishing the master playlist failed")
		}
		return nil
	})
}
