package pipeline

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestOrphanedUploadsRemoved: the sweep when workers start removes what a server that died mid-upload left
// under recordings/{id}/ (no recording row), once it is old enough not to be an upload still
// going on, and never touches a recording's objects.
func TestOrphanedUploadsRemoved(t *testing.T) {
	testenv.FFmpeg(t)
	ctx := context.Background()
	e := newEnv(t, envOptions{noRun: true})
	status, out := e.upload(`{"title": "t", "language": "fr"}`, clip(t, time.Second),
		map[string]string{"fr.srt": "1\n00:00:00,100 --> 00:00:00,900\nBonjour\n"})
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	id := out["id"].(string)
	const orphan = "0123456789abcdef"
	for _, k := range []string{"recordings/" + orphan + "/source", "recordings/" + orphan + "/subtitles/fr.srt"} {
		if _, err := e.store.Put(ctx, k, strings.NewReader("partial"), -1, "application/octet-stream"); err != nil {
			t.Fatal(err)
		}
	}
	keys := func() []string {
		objs, err := e.store.List(ctx, "recordings/")
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, o := range objs {
			ks = append(ks, o.Key)
		}
		slices.Sort(ks)
		return ks
	}
	want := []string{"recordings/" + orphan + "/source", "recordings/" + orphan + "/subtitles/fr.srt",
		"recordings/" + id + "/source", "recordings/" + id + "/subtitles/fr.srt"}
	slices.Sort(want)

	// Fresh: maybe an upload still going on.
	e.svc.sweep(ctx)
	if got := keys(); !slices.Equal(got, want) {
		t.Fatalf("after a sweep of fresh objects: %v, want %v", got, want)
	}
	// A start two hours later: the orphan goes, the recording stays.
	e.svc.store.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	e.start()
	defer e.shutdown()
	want = []string{"recordings/" + id + "/source", "recordings/" + id + "/subtitles/fr.srt"}
	deadline := time.Now().Add(10 * time.Second)
	for got := keys(); !slices.Equal(got, want); got = keys() {
		if time.Now().After(deadline) {
			t.Fatalf("after a start two hours later: %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
