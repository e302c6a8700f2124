package pipeline

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/internal/testenv"
	"codeberg.org/atelier/atelier/pipeline/media"
	"codeberg.org/atelier/atelier/pipeline/subtitle"
)

// hookStore is a real store that calls opened once an object is opened (before it is read) and
// stored after a Put returns.
type hookStore struct {
	assets.Store
	mu             sync.Mutex
	opened, stored func(key string)
}

func (h *hookStore) hooks() (func(string), func(string)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.opened, h.stored
}

func (h *hookStore) Open(ctx context.Context, key string, rng *assets.Range) (io.ReadCloser, assets.Info, error) {
	rc, info, err := h.Store.Open(ctx, key, rng)
	if f, _ := h.hooks(); f != nil && err == nil {
		f(key) // the version opened is read, whatever is stored meanwhile
	}
	return rc, info, err
}

func (h *hookStore) Put(ctx context.Context, key string, r io.Reader, size int64, ct string) (assets.Info, error) {
	info, err := h.Store.Put(ctx, key, r, size, ct)
	if _, f := h.hooks(); f != nil {
		f(key)
	}
	return info, err
}

// TestMasterKeepsRungsWhenSubtitlesChange: a subtitle change published while the ladder is
// encoded (the replay is playable) rebuilds the master from the variants it read; here it reads
// them just before the next rung is published and writes just after: without turns, its master
// drops that rung (until the next one — here none). With them, every rung stays listed, and the
// edited track too.
func TestMasterKeepsRungsWhenSubtitlesChange(t *testing.T) {
	testenv.FFmpeg(t)
	dir := t.TempDir()
	d, err := assets.NewDir(filepath.Join(dir, "media"), "", []byte("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	hs := &hookStore{Store: d}
	e := newEnv(t, envOptions{dir: dir, store: hs, ladder: []int{180, 120}, noRun: true}) // started once the hooks are set

	editRead := make(chan struct{})    // the edit has read variants.json, in its turn
	releaseEdit := make(chan struct{}) // the edit may write its master
	var release sync.Once
	editDone := make(chan error, 1)
	var armed, readSeen bool
	var id string
	hs.opened = func(key string) {
		hs.mu.Lock()
		hold := armed && !readSeen && strings.HasSuffix(key, "/"+media.VariantsFile)
		if hold {
			readSeen = true
		}
		hs.mu.Unlock()
		if hold {
			close(editRead)
			<-releaseEdit
		}
	}
	hs.stored = func(key string) {
		hs.mu.Lock()
		start := !armed && id != "" && strings.Contains(key, "/hls/120p/")
		if start {
			armed = true
		}
		read := readSeen
		hs.mu.Unlock()
		switch {
		case start:
			// The 180p rung is published and the 120p one is being stored: edit now.
			go func() { editDone <- editFrench(e, id) }()
			select {
			case <-editRead:
			case err := <-editDone:
				editDone <- err
				t.Errorf("the edit ended before reading the variants: %v", err)
			case <-time.After(60 * time.Second):
				t.Error("the edit never read the variants")
			}
		case read && strings.HasSuffix(key, "/hls/master.m3u8"):
			// Without turns, the job published the 120p rung while the edit waited.
			release.Do(func() { close(releaseEdit) })
		}
	}
	e.svc.masterWait = func(string) { release.Do(func() { close(releaseEdit) }) } // the job waits its turn
	t.Cleanup(func() { release.Do(func() { close(releaseEdit) }) })
	e.start()

	status, out := e.upload(`{"title": "t", "language": "fr", "publication": "published", "cut": "fast"}`, clip(t, 6*time.Second),
		map[string]string{"fr.srt": "1\n00:00:01,000 --> 00:00:02,000\nBonjour\n"})
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	hs.mu.Lock()
	id = out["id"].(string)
	hs.mu.Unlock()
	v := e.waitFor(id, "ready", final)
	if v.Status != StatusReady {
		t.Fatalf("not ready: %+v", v)
	}
	select {
	case err := <-editDone:
		if err != nil {
			t.Fatalf("subtitle edit: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the subtitle edit did not end")
	}

	lrn := learner(t, e)
	base := lrn.URL + "/replays/" + id
	_, _, master := fetch(t, base+"/hls/master.m3u8")
	for _, rend := range []string{"source/index.m3u8", "180p/index.m3u8", "120p/index.m3u8"} {
		if !strings.Contains(master, rend) {
			t.Errorf("the master lost %s:\n%s", rend, master)
		}
	}
	if !strings.Contains(master, "TYPE=SUBTITLES") {
		t.Errorf("the master lost the subtitles:\n%s", master)
	}
	if _, _, vtt := fetch(t, base+"/subtitles/fr.vtt"); !strings.Contains(vtt, "Bonsoir") {
		t.Errorf("the edit is not published:\n%s", vtt)
	}
}

// editFrench replaces the French track of a replay being encoded, as the subtitle API does: it
// is published at once since the replay is playable.
func editFrench(e *env, id string) error {
	ctx := context.Background()
	keep, ready, err := e.svc.KeptSpans(ctx, id)
	if err != nil {
		return err
	}
	if !ready {
		e.t.Error("KeptSpans: a playable replay whose ladder is encoded is not ready for subtitle changes")
	}
	tracks := e.svc.cfg.Tracks
	subs, lang, _, err := tracks.SaveSource(ctx, id, "fr", []byte("1\n00:00:01,000 --> 00:00:02,000\nBonsoir\n"), "fr.srt")
	if err != nil {
		return err
	}
	_, err = tracks.PublishOne(ctx, id, lang, subs, keep, subtitle.Info{Kind: subtitle.KindManual, Status: subtitle.StatusReviewed, UpdatedBy: "test"})
	return err
}
