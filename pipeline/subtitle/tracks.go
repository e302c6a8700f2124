package subtitle

import (
	"bytes"
	"codeberg.org/atelier/atelier/assets/layout"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/asticode/go-astisub"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// Where tracks live in storage: see assets/layout (Recording.SubtitleKey for the source-time
// files as sent or drafted, Replay.SubtitleKey for the published WebVTT, Replay.SubtitleHLSPrefix
// for its HLS rendition, listed in hls/master.m3u8).
//
// Source-time files are the truth: every render of the replay (new cuts) re-times them again. A
// manual file wins over an automatic draft in the same language.

// Track kinds and statuses, as the catalog records them.
const (
	KindManual     = "manual"
	KindAuto       = "auto"
	StatusDraft    = "draft"
	StatusReviewed = "reviewed"
)

// Storage is what Tracks needs from the store (assets.Store has it).
type Storage interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (assets.Info, error)
	Open(ctx context.Context, key string, rng *assets.Range) (io.ReadCloser, assets.Info, error)
	List(ctx context.Context, prefix string) ([]assets.Info, error)
	Delete(ctx context.Context, key string) error
}

// Catalog is what Tracks needs from the catalog (*catalog.Store has it).
type Catalog interface {
	PutTrack(ctx context.Context, replayID string, t catalog.Track) error
	Replay(ctx context.Context, id string) (catalog.Replay, error)
}

var (
	_ Storage = assets.Store(nil)
	_ Catalog = (*catalog.Store)(nil)
)

// Transcriber makes automatic captions (transcribe.Transcriber; declared here because transcribe
// imports this package).
type Transcriber interface {
	Transcribe(ctx context.Context, audioWAV string, lang string) (*astisub.Subtitles, error)
}

// ErrUnsupportedLang is what a Transcriber returns for a language it cannot transcribe
// (transcribe.ErrUnsupportedLang is this error). AutoCaption takes it for "no draft", not a fault.
var ErrUnsupportedLang = errors.New("subtitle: language not supported by the transcriber")

// Tracks stores, re-times and publishes the subtitle tracks of recordings.
type Tracks struct {
	Store   Storage
	Catalog Catalog
	Log     *slog.Logger
	// Transcriber and ExtractAudio (transcribe.ExtractAudio) enable AutoCaption; nil disables it.
	Transcriber  Transcriber
	ExtractAudio func(ctx context.Context, src, dstWAV string, keep ...media.Span) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LockMaster, when set, runs fn with the replay's master playlist to itself, across
	// processes (the pipeline's, which also adds rungs to it while a replay is playable):
	// WriteMaster rebuilds the whole master from what is stored, and two rebuilds that overlap
	// would each drop the other's change. nil: no other writer (tests of this package).
	LockMaster func(ctx context.Context, replayID string, fn func(context.Context) error) error
}

func (t *Tracks) now() time.Time {
	if t.Now != nil {
		return t.Now().UTC()
	}
	return time.Now().UTC()
}

func (t *Tracks) log() *slog.Logger {
	if t.Log != nil {
		return t.Log
	}
	return slog.Default()
}

var formatExt = map[Format]string{FormatSRT: ".srt", FormatWebVTT: ".vtt", FormatSSA: ".ass", FormatTTML: ".ttml"}

var extContentType = map[string]string{
	".srt": "application/x-subrip; charset=utf-8", ".vtt": "text/vtt; charset=utf-8",
	".ass": "text/x-ssa", ".ssa": "text/x-ssa", ".ttml": "application/ttml+xml",
}

// sourceFile is a stored source-time track.
type sourceFile struct {
	key, lang, ext string
	auto           bool
}

func parseSourceKey(prefix, key string) (sourceFile, bool) {
	name := strings.TrimPrefix(key, prefix)
	if strings.Contains(name, "/") {
		return sourceFile{}, false
	}
	if lang, ok := strings.CutSuffix(name, ".auto.vtt"); ok {
		return sourceFile{key: key, lang: lang, ext: ".auto.vtt", auto: true}, ValidLang(lang) == nil
	}
	ext := path.Ext(name)
	lang := strings.TrimSuffix(name, ext)
	if _, ok := extContentType[ext]; !ok {
		return sourceFile{}, false
	}
	return sourceFile{key: key, lang: lang, ext: ext}, ValidLang(lang) == nil
}

// sources lists a recording's source-time tracks, one per language: the manual file when there
// is one, else the automatic draft.
func (t *Tracks) sources(ctx context.Context, id string) (map[string]sourceFile, error) {
	prefix := layout.Recording(id).SubtitlePrefix()
	infos, err := t.Store.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("subtitle: list tracks of %s: %w", id, err)
	}
	out := map[string]sourceFile{}
	for _, in := range infos {
		f, ok := parseSourceKey(prefix, in.Key)
		if !ok {
			continue
		}
		if cur, seen := out[f.lang]; seen && !cur.auto {
			continue
		}
		out[f.lang] = f
	}
	return out, nil
}

func (t *Tracks) read(ctx context.Context, key string) ([]byte, error) {
	rc, _, err := t.Store.Open(ctx, key, nil)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, MaxFileSize+1))
}

func (t *Tracks) put(ctx context.Context, key string, data []byte, ct string) error {
	if _, err := t.Store.Put(ctx, key, bytes.NewReader(data), int64(len(data)), ct); err != nil {
		return fmt.Errorf("subtitle: store %s: %w", key, err)
	}
	return nil
}

// MaxFileSize bounds a subtitle file: 10 MiB is days of dense dialogue.
const MaxFileSize = 10 << 20

// Info describes who made a track and how far it was checked: its kind (manual, or auto for a
// transcriber's track, corrected or not), status, last author, whether a draft is offered to
// learners anyway (Visible), and who reviewed it when.
type Info struct {
	Kind, Status, UpdatedBy string
	Visible                 bool
	ReviewedBy              string
	ReviewedAt              *time.Time
}

// infoOf is the Info a catalog track records.
func infoOf(tr catalog.Track) Info {
	return Info{Kind: tr.Kind, Status: tr.Status, UpdatedBy: tr.UpdatedBy, Visible: tr.Visible,
		ReviewedBy: tr.ReviewedBy, ReviewedAt: tr.ReviewedAt}
}

// SaveSource checks a track sent by an animator (in source time) and stores it as the manual
// track of lang, replacing any earlier file or automatic draft of that language. It returns the
// parsed cues, the canonical language tag and what parsing skipped (see ParseWarn). A file that
// does not parse is a *ParseError.
func (t *Tracks) SaveSource(ctx context.Context, recordingID, lang string, data []byte, hint string) (*astisub.Subtitles, string, []Warning, error) {
	lang, err := CanonicalLang(lang)
	if err != nil {
		return nil, "", nil, err
	}
	text, err := decodeText(data)
	if err != nil {
		return nil, "", nil, err
	}
	subs, warnings, err := ParseWarn(data, hint)
	if err != nil {
		return nil, "", nil, err
	}
	ext := formatExt[detectFormat(text, hint)]
	rec := layout.Recording(recordingID)
	key := rec.SubtitleKey(lang, ext)
	// Stored as UTF-8 (the decoded text): the original encoding has done its job.
	if err := t.put(ctx, key, []byte(text), extContentType[ext]); err != nil {
		return nil, "", nil, err
	}
	srcs, err := t.Store.List(ctx, rec.SubtitlePrefix())
	if err != nil {
		return nil, "", nil, fmt.Errorf("subtitle: list tracks of %s: %w", recordingID, err)
	}
	for _, in := range srcs {
		if f, ok := parseSourceKey(rec.SubtitlePrefix(), in.Key); ok && f.lang == lang && in.Key != key {
			if err := t.Store.Delete(ctx, in.Key); err != nil && !errors.Is(err, assets.ErrNotExist) {
				return nil, "", nil, fmt.Errorf("subtitle: replace %s: %w", in.Key, err)
			}
		}
	}
	return subs, lang, warnings, nil
}

// Publish re-times one source-time track through keep (the replay's actual kept spans), stores
// its WebVTT and HLS rendition in rp (a render generation of the replay, assets/layout), and
// records it in the catalog with info. It does not rewrite the master playlist: call WriteMaster
// after the last track.
func (t *Tracks) Publish(ctx context.Context, rp layout.Replay, lang string, src *astisub.Subtitles, keep []media.Span, info Info) (catalog.Track, error) {
	replayID := rp.ID()
	duration := KeptDuration(keep)
	out := Retime(src, keep)
	if len(keep) == 0 { // no edit: the rendition covers the cues
		for _, it := range out.Items {
			duration = max(duration, it.EndAt)
		}
	}
	vtt, err := VTT(out)
	if err != nil {
		return catalog.Track{}, err
	}
	if err := t.put(ctx, rp.SubtitleKey(lang), vtt, "text/vtt; charset=utf-8"); err != nil {
		return catalog.Track{}, err
	}
	if duration > 0 {
		dir := rp.SubtitleHLSPrefix(lang)
		pl, segs, err := Segment(out, duration, SegmentOptions{})
		if err != nil {
			return catalog.Track{}, err
		}
		names := slices.Sorted(maps.Keys(segs))
		for _, name := range names {
			if err := t.put(ctx, dir+name, segs[name], "text/vtt; charset=utf-8"); err != nil {
				return catalog.Track{}, err
			}
		}
		if err := t.put(ctx, dir+"index.m3u8", pl, "application/vnd.apple.mpegurl"); err != nil {
			return catalog.Track{}, err
		}
		// Segments of an earlier, longer version.
		if old, err := t.Store.List(ctx, dir); err == nil {
			for _, o := range old {
				name := strings.TrimPrefix(o.Key, dir)
				if _, ok := segs[name]; !ok && name != "index.m3u8" {
					_ = t.Store.Delete(ctx, o.Key)
				}
			}
		}
	}
	texts := make([]string, 0, len(out.Items))
	for _, it := range out.Items {
		texts = append(texts, PlainText(it))
	}
	tr := catalog.Track{Lang: lang, Kind: info.Kind, Status: info.Status, UpdatedBy: info.UpdatedBy,
		CueCount: len(out.Items), Text: strings.Join(texts, "\n"), UpdatedAt: t.now(),
		Visible: info.Visible, ReviewedBy: info.ReviewedBy, ReviewedAt: info.ReviewedAt}
	if err := t.Catalog.PutTrack(ctx, replayID, tr); err != nil {
		return catalog.Track{}, fmt.Errorf("subtitle: record track %s of %s: %w", lang, replayID, err)
	}
	return tr, nil
}

// PublishAll (re)publishes every source-time track of a recording through keep, the replay's
// actual kept spans, into its current render generation, then rewrites the HLS master playlist
// to list them. by is recorded as the author of tracks the catalog does not know yet (files that
// came with the upload). A track that no longer parses is logged and skipped: it must not fail
// the replay.
func (t *Tracks) PublishAll(ctx context.Context, replayID string, keep []media.Span, by string) ([]catalog.Track, error) {
	return t.publishAll(ctx, replayID, nil, keep, by)
}

// publishAll is PublishAll into the generation into, or the current one when into is nil.
func (t *Tracks) publishAll(ctx context.Context, replayID string, into *layout.Replay, keep []media.Span, by string) ([]catalog.Track, error) {
	srcs, err := t.sources(ctx, replayID)
	if err != nil {
		return nil, err
	}
	known := map[string]catalog.Track{}
	rp := layout.Replay(replayID)
	if cur, err := t.Catalog.Replay(ctx, replayID); err == nil {
		for _, tr := range cur.Tracks {
			known[tr.Lang] = tr
		}
		rp = rp.Render(cur.Render)
	} else if !errors.Is(err, catalog.ErrNotFound) {
		return nil, fmt.Errorf("subtitle: tracks of %s: %w", replayID, err)
	}
	if into != nil {
		rp = *into
	}
	tracks := []catalog.Track{} // not nil: WriteMaster lists exactly these
	for _, lang := range slices.Sorted(maps.Keys(srcs)) {
		f := srcs[lang]
		data, err := t.read(ctx, f.key)
		if err != nil {
			return nil, fmt.Errorf("subtitle: read %s: %w", f.key, err)
		}
		subs, err := Parse(data, f.key)
		if err != nil {
			t.log().Warn("subtitle track skipped", "replay_id", replayID, "key", f.key, "error", err)
			continue
		}
		info := Info{Kind: KindManual, Status: StatusReviewed, UpdatedBy: by}
		if f.auto {
			info = Info{Kind: KindAuto, Status: StatusDraft, UpdatedBy: "automatic"}
		}
		// What the catalog knows of the track wins: its status, review and visibility, and its
		// kind when the file is an animator's (an automatic track corrected in the studio is
		// stored as a plain file, so that no new transcription overwrites it, yet stays "auto").
		// A new automatic draft where a manual track was is a draft again.
		if k, ok := known[lang]; ok && (k.Kind == info.Kind || !f.auto) {
			info = infoOf(k)
		}
		tr, err := t.Publish(ctx, rp, lang, subs, keep, info)
		if err != nil {
			return nil, err
		}
		tracks = append(tracks, tr)
	}
	if err := t.WriteMaster(ctx, rp, tracks); err != nil {
		return nil, err
	}
	return tracks, nil
}

// PublishOne publishes one track (Publish) of a ready replay into its current render generation
// and rewrites the master playlist with every track the catalog then lists: what a change to a
// single track needs.
func (t *Tracks) PublishOne(ctx context.Context, replayID, lang string, src *astisub.Subtitles, keep []media.Span, info Info) (catalog.Track, error) {
	cur, err := t.Catalog.Replay(ctx, replayID)
	if err != nil {
		return catalog.Track{}, fmt.Errorf("subtitle: tracks of %s: %w", replayID, err)
	}
	gen := layout.Replay(replayID).Render(cur.Render)
	tr, err := t.Publish(ctx, gen, lang, src, keep, info)
	if err != nil {
		return catalog.Track{}, err
	}
	// The tracks the catalog lists, read under the master's lock: another track published
	// meanwhile stays listed.
	if err := t.WriteMaster(ctx, gen, nil); err != nil {
		return catalog.Track{}, err
	}
	return tr, nil
}

// PublishReplay is the one call the pipeline makes once a render's outputs are stored in the new
// render generation into (before it becomes current): every track re-timed through keep, the
// actual kept spans, into that generation. Automatic captions are not made here: a draft is not
// offered to learners until reviewed, so the pipeline transcribes after the replay is playable
// (AutoCaption, then PublishAll) rather than make everyone wait for it.
func (t *Tracks) PublishReplay(ctx context.Context, into layout.Replay, keep []media.Span, by string) ([]catalog.Track, error) {
	return t.publishAll(ctx, into.ID(), &into, keep, by)
}

// AutoCaptions reports whether AutoCaption can make drafts: a Transcriber is configured.
func (t *Tracks) AutoCaptions() bool { return t.Transcriber != nil && t.ExtractAudio != nil }

// WriteMaster rewrites hls/master.m3u8 of rp (a render generation) from the variants the render
// recorded in hls/variants.json, with one subtitle rendition per track (nil: the tracks the
// catalog lists, read under the lock), holding the master's lock (LockMaster). Without
// variants.json (the replay is not rendered yet) it does nothing: the next render's PublishAll
// writes it.
func (t *Tracks) WriteMaster(ctx context.Context, rp layout.Replay, tracks []catalog.Track) error {
	if t.LockMaster == nil {
		return t.WriteMasterLocked(ctx, rp, tracks)
	}
	return t.LockMaster(ctx, rp.ID(), func(ctx context.Context) error { return t.WriteMasterLocked(ctx, rp, tracks) })
}

// WriteMasterLocked is WriteMaster for a caller that holds the master's lock.
func (t *Tracks) WriteMasterLocked(ctx context.Context, rp layout.Replay, tracks []catalog.Track) error {
	replayID := rp.ID()
	data, err := t.read(ctx, rp.Key(media.VariantsFile))
	if errors.Is(err, assets.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("subtitle: read variants of %s: %w", replayID, err)
	}
	variants, err := media.ParseVariants(data)
	if err != nil {
		return fmt.Errorf("subtitle: %s: %w", replayID, err)
	}
	if tracks == nil {
		cur, err := t.Catalog.Replay(ctx, replayID)
		if err != nil && !errors.Is(err, catalog.ErrNotFound) {
			return fmt.Errorf("subtitle: tracks of %s: %w", replayID, err)
		}
		tracks = cur.Tracks
	}
	master := media.MasterPlaylist(variants, Renditions(tracks))
	return t.put(ctx, rp.HLSKey("master.m3u8"), master, "application/vnd.apple.mpegurl")
}

// Renditions lists the tracks offered to learners as HLS subtitle renditions, sorted by language. Automatic tracks are
// named as such ("English (automatic)"), so learners know what they are reading.
func Renditions(tracks []catalog.Track) []media.SubtitleRendition {
	var out []media.SubtitleRendition
	for _, tr := range tracks {
		if !tr.Offered() { // a draft stays with the animators (catalog.Track.Offered)
			continue
		}
		name := tr.Lang
		if tag, err := language.Parse(tr.Lang); err == nil {
			if n := display.Self.Name(tag); n != "" {
				name = strings.ToUpper(n[:1]) + n[1:]
			}
		}
		if tr.Kind == KindAuto {
			name += " (automatic)"
		}
		out = append(out, media.SubtitleRendition{Lang: tr.Lang, Name: name, URI: layout.SubtitleHLSDir(tr.Lang) + "index.m3u8"})
	}
	slices.SortFunc(out, func(a, b media.SubtitleRendition) int { return strings.Compare(a.Lang, b.Lang) })
	return out
}

// AutoCaption transcribes the kept audio of a recording's source (a local media file) into an
// automatic draft in lang, unless a manual track of that language exists, no Transcriber is
// configured, or it does not know lang. Only the kept ranges are transcribed (less work, and no
// words from removed material end up in a clipped cue); the draft is then mapped back to source
// time (ToSource) and stored like every other track, so that an animator corrects it against
// the raw recording and a re-cut re-times it. It returns whether a draft was made; call
// PublishAll afterwards to publish it.
func (t *Tracks) AutoCaption(ctx context.Context, recordingID, lang, sourcePath string, keep []media.Span) (bool, error) {
	if t.Transcriber == nil || t.ExtractAudio == nil {
		return false, nil
	}
	lang, err := CanonicalLang(lang)
	if err != nil {
		return false, err
	}
	srcs, err := t.sources(ctx, recordingID)
	if err != nil {
		return false, err
	}
	if f, ok := srcs[lang]; ok && !f.auto {
		return false, nil
	}
	dir, err := os.MkdirTemp("", "atelier-captions-")
	if err != nil {
		return false, fmt.Errorf("subtitle: auto captions: %w", err)
	}
	defer os.RemoveAll(dir)
	wav := filepath.Join(dir, "audio.wav")
	if err := t.ExtractAudio(ctx, sourcePath, wav, keep...); err != nil {
		return false, err
	}
	subs, err := t.Transcriber.Transcribe(ctx, wav, lang)
	if errors.Is(err, ErrUnsupportedLang) {
		t.log().Info("no automatic captions in this language", "recording_id", recordingID, "lang", lang)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	vtt, err := VTT(ToSource(subs, keep))
	if err != nil {
		return false, err
	}
	if err := t.put(ctx, layout.Recording(recordingID).SubtitleKey(lang, ".auto.vtt"), vtt, "text/vtt; charset=utf-8"); err != nil {
		return false, err
	}
	return true, nil
}

// BurnInFile writes the replay-time track of lang, re-timed through keep, to dst (WebVTT) for
// media.RenderOptions.BurnIn. It fails with assets.ErrNotExist when the recording has no track
// in lang.
func (t *Tracks) BurnInFile(ctx context.Context, recordingID, lang string, keep []media.Span, dst string) error {
	lang, err := CanonicalLang(lang)
	if err != nil {
		return err
	}
	srcs, err := t.sources(ctx, recordingID)
	if err != nil {
		return err
	}
	f, ok := srcs[lang]
	if !ok {
		return fmt.Errorf("subtitle: no %s track to burn in: %w", lang, assets.ErrNotExist)
	}
	data, err := t.read(ctx, f.key)
	if err != nil {
		return fmt.Errorf("subtitle: read %s: %w", f.key, err)
	}
	subs, err := Parse(data, f.key)
	if err != nil {
		return err
	}
	vtt, err := VTT(Retime(subs, keep))
	if err != nil {
		return err
	}
	return os.WriteFile(dst, vtt, 0o644)
}
