package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// Re-cut and retry: a finished recording goes back to the queue and the job renders it again
// from the stored source, into a new render generation (render.go) that replaces the served one
// only once complete. The replay keeps its id, URL, publication, tags and subtitles; chapters
// and subtitles, stored in source time, are re-timed through the new cut by the job.

// EditsBody is the body of PUT /api/recordings/{id}/edits: the meta fields that say what to
// keep of the source, with the same meaning and validation as in the upload meta. Chapters and
// cut left out keep the recording's current ones; edits left out keep the whole source.
type EditsBody struct {
	Edits    *Edits         `json:"edits"`
	Chapters *[]MetaChapter `json:"chapters"`
	Cut      media.CutMode  `json:"cut"`
}

// recutPlan resolves body against the recording as the upload resolves its meta (Meta.Validate,
// the catalog's tag checks, Request.Resolve against the probed duration): the rest of the plan
// (title, language, publication, burn-in...) stays as it is.
func (s *Service) recutPlan(ctx context.Context, rec Recording, body EditsBody) (Plan, error) {
	p := rec.Plan
	m := Meta{Title: p.Title, Description: p.Description, Language: p.Language, WorkshopID: p.WorkshopID,
		Documents: p.Documents, Edits: body.Edits, Cut: body.Cut, Publication: p.Publication, Loudnorm: p.Loudnorm,
		BurnIn: p.BurnIn}
	if m.Cut == "" {
		m.Cut = p.Cut
	}
	if body.Chapters != nil {
		m.Chapters = *body.Chapters
	} else {
		for _, c := range p.Chapters {
			m.Chapters = append(m.Chapters, MetaChapter{Start: Timecode(FormatTimecode(c.Start)), Title: c.Title, Documents: c.Documents})
		}
	}
	req, err := m.Validate()
	if err != nil {
		return Plan{}, err
	}
	if err := s.checkChapterTags(ctx, req); err != nil {
		return Plan{}, err
	}
	plan, err := req.Resolve(rec.SourceLen)
	if err != nil {
		return Plan{}, err
	}
	plan.Publication = p.Publication // the replay's own publication rules from now on
	plan.SourceFrameRate = p.SourceFrameRate
	return plan, nil
}

// checkChapterTags checks the chapters' software versions against the catalog.
func (s *Service) checkChapterTags(ctx context.Context, req Request) error {
	for i, c := range req.Chapters {
		if err := s.cfg.Catalog.CheckTags(ctx, fmt.Sprintf("chapters[%d].documents", req.chapterIdx[i]), c.Documents); err != nil {
			return err
		}
	}
	return nil
}

// ErrBusy is returned when a recording that is queued or processing is asked to re-cut or
// retry.
var ErrBusy = fmt.Errorf("pipeline: recording busy: %w", httpapi.ErrConflict)

// busyError is the 409 of a recording whose job is still to run or running.
func busyError(rec Recording, action string) error {
	return &httpapi.PublicError{Status: http.StatusConflict, Err: ErrBusy, Msg: fmt.Sprintf(
		"recording %s is %s: wait until its render finishes, or cancel it first (POST /api/recordings/%s/cancel), then %s",
		rec.ID, rec.Status, rec.ID, action)}
}

// Recut stores plan as the recording's plan and queues it for rendering again from the source.
// The recording must be finished (ready, failed or cancelled); while queued or processing the
// answer is a conflict.
func (s *Service) Recut(ctx context.Context, id string, plan Plan) (Recording, error) {
	return s.requeueFinished(ctx, id, &plan, "re-cut it")
}

// Retry queues a failed or cancelled recording again, with its plan as it is.
func (s *Service) Retry(ctx context.Context, id string) (Recording, error) {
	rec, err := s.store.get(ctx, id)
	if err != nil {
		return rec, err
	}
	switch rec.Status {
	case StatusFailed, StatusCancelled:
	case StatusReady:
		return rec, &httpapi.PublicError{Status: http.StatusConflict, Err: ErrFinal, Msg: fmt.Sprintf(
			"recording %s is ready: only a failed or cancelled recording can be retried (re-cut it with PUT /api/recordings/%s/edits)", id, id)}
	default:
		return rec, &httpapi.PublicError{Status: http.StatusConflict, Err: ErrBusy, Msg: fmt.Sprintf(
			"recording %s is %s: only a failed or cancelled recording can be retried", id, rec.Status)}
	}
	return s.requeueFinished(ctx, id, nil, "retry it")
}

// requeueFinished gives a finished recording a new job (and plan, when not nil) in one
// transaction that checks it is still finished, so that two requests never start two renders.
// A replay being served stays so (the job renders beside it); one that never became ready is
// shown processing again.
func (s *Service) requeueFinished(ctx context.Context, id string, plan *Plan, action string) (Recording, error) {
	served, err := s.isServed(ctx, id)
	if err != nil {
		return Recording{}, err
	}
	tx, err := s.cfg.DB.BeginTx(ctx, nil)
	if err != nil {
		return Recording{}, fmt.Errorf("pipeline: requeue %s: %w", id, err)
	}
	defer tx.Rollback()
	res, err := s.river.InsertTx(ctx, tx, ProcessArgs{RecordingID: id, Rerender: served}, nil)
	if err != nil {
		return Recording{}, fmt.Errorf("pipeline: requeue %s: %w", id, err)
	}
	set, args := ``, []any{res.Job.ID, sqldb.FormatTime(s.store.now()), id}
	if plan != nil {
		set, args = `, plan = $4, cut_mode = $5`, append(args, mustJSON(*plan), plan.Cut)
	}
	r, err := tx.ExecContext(ctx, `UPDATE recordings SET status = 'queued', job_id = $1, stage = '', progress = 0, speed = 0,
		eta_seconds = NULL, error = '', cancel_requested = 0, finished_at = '', updated_at = $2`+set+`
		WHERE id = $3 AND status IN ('ready', 'failed', 'cancelled')`, args...)
	if err != nil {
		return Recording{}, fmt.Errorf("pipeline: requeue %s: %w", id, err)
	}
	if n, _ := r.RowsAffected(); n != 1 {
		rec, err := s.store.get(ctx, id)
		if err != nil {
			return rec, err
		}
		return rec, busyError(rec, action)
	}
	if err := tx.Commit(); err != nil {
		return Recording{}, fmt.Errorf("pipeline: requeue %s: %w", id, err)
	}
	if !served {
		if err := s.cfg.Catalog.SetProcessing(ctx, id, catalog.Processing, 0); err != nil {
			s.log.Warn("replay not shown processing again", "recording_id", id, "error", err)
		}
	}
	s.changes.notify()
	return s.store.get(ctx, id)
}

// isServed tells whether the replay of id is ready in the catalog: a render of it is served,
// and a failed new render must leave it so.
func (s *Service) isServed(ctx context.Context, id string) (bool, error) {
	rp, err := s.cfg.Catalog.Replay(ctx, id)
	if errors.Is(err, catalog.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pipeline: replay of %s: %w", id, err)
	}
	return rp.Processing == catalog.Ready, nil
}

// ownRecording loads the recording of the request and checks that its principal may act on it.
func (a *API) ownRecording(r *http.Request, action string) (Recording, error) {
	rec, err := a.s.Get(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return rec, err
	}
	p, _ := auth.FromContext(r.Context())
	return rec, CheckOwner(p, rec, action)
}

// Edits answers PUT /api/recordings/{id}/edits (EditsBody): the recording's owner or an admin
// re-cuts a finished recording. 202 with the recording, queued; 422 naming the field for edits
// past the end, overlapping or removing everything; 409 while a render is queued or running.
func (a *API) Edits(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rec, err := a.ownRecording(r, "re-cut")
	if err != nil {
		return err
	}
	var body EditsBody
	if err := httpapi.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if !rec.Status.Final() {
		return busyError(rec, "re-cut it")
	}
	plan, err := a.s.recutPlan(ctx, rec, body)
	if err != nil {
		return err
	}
	if rec, err = a.s.Recut(ctx, rec.ID, plan); err != nil {
		return err
	}
	httpapi.Logger(ctx).Info("recording re-cut", "recording_id", rec.ID, "spans", len(plan.Spans), "cut", plan.Cut)
	httpapi.WriteJSON(w, http.StatusAccepted, NewView(rec))
	return nil
}

// Retry answers POST /api/recordings/{id}/retry: the recording's owner or an admin queues a
// failed or cancelled recording again. 202 with the recording; 409 for any other status.
func (a *API) Retry(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rec, err := a.ownRecording(r, "retry")
	if err != nil {
		return err
	}
	if rec, err = a.s.Retry(ctx, rec.ID); err != nil {
		return err
	}
	httpapi.Logger(ctx).Info("recording retried", "recording_id", rec.ID)
	httpapi.WriteJSON(w, http.StatusAccepted, NewView(rec))
	return nil
}
