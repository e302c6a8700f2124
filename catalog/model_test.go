package catalog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// TestFiltersAgreeWithModel builds random catalogs and checks the SQL answers (status filter, stored
// status, for=, per-tag freshness) against a direct Go reading of the rules with Version.Compare.
func TestFiltersAgreeWithModel(t *testing.T) {
	ctx := context.Background()
	softwares := []string{"alpha", "beta", "gamma"}
	for seed := range 4 {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		s := newStore(t)
		randomVersion := func() string {
			v := fmt.Sprintf("%d.%d", 1+r.IntN(4), r.IntN(3))
			if r.IntN(5) == 0 {
				v += "-rc1"
			}
			return v
		}
		type rel struct {
			v  Version
			ic bool
		}
		releases := map[string][]rel{}
		for _, sw := range softwares {
			if _, err := s.CreateSoftware(ctx, NewSoftware{Slug: sw, Name: sw}); err != nil {
				t.Fatal(err)
			}
			for range r.IntN(6) { // some software get no release at all
				raw := randomVersion()
				ic := r.IntN(2) == 0
				if _, err := s.AddRelease(ctx, sw, NewRelease{Version: raw, InterfaceChange: &ic}); err != nil {
					continue // the same version twice
				}
				v, _ := ParseVersion(raw)
				releases[sw] = append(releases[sw], rel{v, ic})
			}
		}
		tagStatus := func(tag Tag) Status {
			v, _ := ParseVersion(tag.Version)
			known := false
			for _, rl := range releases[tag.Software] {
				if rl.ic && rl.v.Compare(v) > 0 {
					return Outdated
				}
				if rl.v.Compare(v) >= 0 {
					known = true
				}
			}
			if !known {
				return Unknown
			}
			return Current
		}
		randomTags := func() []Tag {
			var tags []Tag
			for range r.IntN(3) {
				tags = append(tags, Tag{softwares[r.IntN(len(softwares))], randomVersion()})
			}
			return tags
		}
		all := map[string][]Tag{}
		var ids []string
		for i := range 30 {
			id := fmt.Sprintf("r%02d", i)
			docs := randomTags()
			var chapters []Chapter
			for c := range r.IntN(3) {
				chapters = append(chapters, Chapter{StartMS: int64(c) * 1000, Title: "c", Documents: randomTags()})
			}
			if err := s.CreateReplay(ctx, NewReplay{ID: id, Title: id, Documents: docs, Chapters: chapters}); err != nil {
				t.Fatal(err)
			}
			tags := slices.Clone(docs)
			for _, c := range chapters {
				tags = append(tags, c.Documents...)
			}
			all[id] = tags
			ids = append(ids, id)
		}
		// One more release after the replays exist, so the stored status must follow it.
		ic := true
		if _, err := s.AddRelease(ctx, "alpha", NewRelease{Version: "3.1", InterfaceChange: &ic}); err == nil {
			v, _ := ParseVersion("3.1")
			releases["alpha"] = append(releases["alpha"], rel{v, true})
		}

		list := func(o ListOptions) []string {
			t.Helper()
			o.Page = httpapi.Page{Limit: 200}
			l, err := s.ListReplays(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, rp := range l.Items {
				got = append(got, rp.ID)
			}
			slices.Sort(got)
			return got
		}
		want := map[Status][]string{}
		for _, id := range ids {
			worstStatus := Current
			for _, tag := range all[id] {
				worstStatus = worst(worstStatus, tagStatus(tag))
			}
			want[worstStatus] = append(want[worstStatus], id)
			rp, err := s.Replay(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if rp.Freshness.Status != worstStatus {
				t.Errorf("seed %d: %s shows %s, model says %s (tags %v)", seed, id, rp.Freshness.Status, worstStatus, all[id])
			}
			for _, tf := range rp.Freshness.Tags {
				if got := tagStatus(Tag{tf.Software, tf.Version}); tf.Status != got {
					t.Errorf("seed %d: %s tag %s@%s is %s, model says %s", seed, id, tf.Software, tf.Version, tf.Status, got)
				}
			}
		}
		for _, st := range []Status{Current, Unknown, Outdated} {
			if got := list(ListOptions{Status: string(st)}); !slices.Equal(got, want[st]) {
				t.Errorf("seed %d: status=%s lists %v, model %v", seed, st, got, want[st])
			}
			// software= with status= is answered from the tags' copies of the replay's status.
			for _, sw := range softwares {
				var wantSw []string
				for _, id := range want[st] {
					if slices.ContainsFunc(all[id], func(tag Tag) bool { return tag.Software == sw }) {
						wantSw = append(wantSw, id)
					}
				}
				if got := list(ListOptions{Software: sw, Status: string(st)}); !slices.Equal(got, wantSw) {
					t.Errorf("seed %d: software=%s&status=%s lists %v, model %v", seed, sw, st, got, wantSw)
				}
			}
		}
		for range 20 {
			sw, learner := softwares[r.IntN(len(softwares))], randomVersion()
			L, _ := ParseVersion(learner)
			var wantFor []string
			for _, id := range ids {
				has, valid := false, true
				for _, tag := range all[id] {
					if tag.Software != sw {
						continue
					}
					has = true
					v, _ := ParseVersion(tag.Version)
					if v.Compare(L) > 0 {
						valid = false
					}
					for _, rl := range releases[sw] {
						if rl.ic && rl.v.Compare(v) > 0 && rl.v.Compare(L) <= 0 {
							valid = false
						}
					}
				}
				if has && valid {
					wantFor = append(wantFor, id)
				}
			}
			if got := list(ListOptions{For: sw + "@" + learner}); !slices.Equal(got, wantFor) {
				t.Errorf("seed %d: for=%s@%s lists %v, model %v", seed, sw, learner, got, wantFor)
			}
		}
	}
}
