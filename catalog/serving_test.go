package catalog

import (
	"context"
	"errors"
	"testing"
)

// TestReplayServingAgreesWithReplay: the narrow reads of the stream handler (ReplayServing,
// TrackOffered) answer what the whole Replay says, through publication changes, a render
// switch and every review state of a track.
func TestReplayServingAgreesWithReplay(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.ReplayServing(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReplayServing of a missing replay: %v, want ErrNotFound", err)
	}
	if ok, err := s.TrackOffered(ctx, "nope", "fr"); err != nil || ok {
		t.Fatalf("TrackOffered of a missing replay: %v %v", ok, err)
	}
	if err := s.CreateReplay(ctx, NewReplay{ID: "r1", Title: "Files", Language: "fr", Pending: Unlisted}); err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		rp, err := s.Replay(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		sv, err := s.ReplayServing(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if sv.Publication != rp.Publication || sv.Render != rp.Render {
			t.Errorf("%s: ReplayServing = %+v, Replay has %s %q", step, sv, rp.Publication, rp.Render)
		}
		offered := map[string]bool{}
		for _, tr := range rp.Tracks {
			offered[tr.Lang] = tr.Offered()
		}
		for _, lang := range []string{"fr", "en", "de"} {
			ok, err := s.TrackOffered(ctx, "r1", lang)
			if err != nil {
				t.Fatal(err)
			}
			if ok != offered[lang] {
				t.Errorf("%s: TrackOffered(%s) = %v, Replay's track offered: %v", step, lang, ok, offered[lang])
			}
		}
	}
	check("draft")
	if err := s.SetRender(ctx, "r1", "0a1b2c3d"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProcessing(ctx, "r1", Ready, 1000); err != nil {
		t.Fatal(err)
	}
	check("ready, unlisted")
	for _, tr := range []Track{
		{Lang: "fr", Kind: "auto", Status: "draft"},
		{Lang: "en", Kind: "manual", Status: "reviewed"},
		{Lang: "fr", Kind: "auto", Status: "draft", Visible: true},
		{Lang: "en", Kind: "manual", Status: "draft"},
	} {
		if err := s.PutTrack(ctx, "r1", tr); err != nil {
			t.Fatal(err)
		}
		check("track " + tr.Lang + " " + tr.Status)
	}
	for _, p := range []Publication{Published, Draft} {
		if err := s.UpdateReplay(ctx, "r1", ReplayUpdate{Publication: ptr(string(p))}); err != nil {
			t.Fatal(err)
		}
		check(string(p))
	}
}
