package pipeline

import (
	"context"
	"net/http"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// TestJobReadsStoredPlan: the job works from the plan the upload stored, not from the meta: a
// meta made unreadable after the upload changes nothing, and a re-cut is a new plan plus a new
// run of the job.
func TestJobReadsStoredPlan(t *testing.T) {
	testenv.FFmpeg(t)
	ctx := context.Background()
	e := newEnv(t, envOptions{noRun: true})
	status, out := e.upload(`{"title":"t","language":"fr","cut":"reencode","edits":{"remove":[[1,2]]},
		"chapters":[{"start":3,"title":"c"}]}`, clip(t, 6*time.Second), nil)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	id := out["id"].(string)
	rec, err := e.svc.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := []media.Span{{Start: 0, End: time.Second}, {Start: 2 * time.Second, End: rec.SourceLen}}
	if !equalSpans(rec.Plan.Spans, want) || rec.Plan.Cut != media.CutReencode || len(rec.Plan.Chapters) != 1 {
		t.Fatalf("stored plan %+v, want spans %v", rec.Plan, want)
	}
	if _, err := e.svc.cfg.DB.Exec(`UPDATE recordings SET meta = 'not json' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	e.start()
	v := e.waitFor(id, "ready", final)
	if v.Status != StatusReady || v.ReplayMS < 4900 || v.ReplayMS > 5100 {
		t.Fatalf("recording: %+v", v)
	}
	rp, err := e.catalog.Replay(ctx, id)
	if err != nil || len(rp.Chapters) != 1 || rp.Chapters[0].StartMS != 2000 {
		t.Fatalf("replay chapters %+v, %v", rp.Chapters, err)
	}

	// A re-cut: keep the first two seconds only.
	plan := rec.Plan
	plan.Spans = []media.Span{{Start: 0, End: 2 * time.Second}}
	plan.Chapters = nil
	if err := e.svc.store.setPlan(ctx, id, plan); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Rerender(ctx, id); err != nil {
		t.Fatal(err)
	}
	v = e.waitFor(id, "re-cut ready", func(v View) bool { return v.Status.Final() && v.ReplayMS < 4000 })
	if v.Status != StatusReady || v.ReplayMS < 1900 || v.ReplayMS > 2100 || len(v.Requested) != 1 {
		t.Fatalf("after the re-cut: %+v", v)
	}
}

// TestPlanBackfill: a recording stored before plans (an empty plan column) gets its plan from
// its meta and probed duration when the service starts, and its job runs as before.
func TestPlanBackfill(t *testing.T) {
	testenv.FFmpeg(t)
	dir := t.TempDir()
	e := newEnv(t, envOptions{dir: dir, noRun: true})
	status, out := e.upload(`{"title":"t","language":"fr","edits":{"keep":[[0,"00:00:03"]]}}`, clip(t, 6*time.Second), nil)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	id := out["id"].(string)
	if _, err := e.svc.cfg.DB.Exec(`UPDATE recordings SET plan = '' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	e.shutdown()
	e2 := newEnv(t, envOptions{dir: dir, store: e.store})
	v := e2.waitFor(id, "ready", final)
	if v.Status != StatusReady || len(v.Requested) != 1 || v.Requested[0].End != 3*time.Second || v.ReplayMS < 2900 || v.ReplayMS > 3100 {
		t.Fatalf("recording: %+v", v)
	}
}
