package pipeline

import (
	"bytes"
	"codeberg.org/atelier/atelier/assets/layout"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/formparts"
	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/pipeline/media"
	"codeberg.org/atelier/atelier/pipeline/subtitle"
)

// API holds the pipeline's HTTP handlers; cmd/atelier routes to them.
type API struct {
	s       *Service
	uploads Uploads // nil: no resumable uploads
}

// API returns the HTTP handlers of s.
func (s *Service) API() *API { return &API{s: s} }

// View is the JSON of a recording in GET /api/recordings/{id} and its events.
type View struct {
	ID         string            `json:"id"`
	Status     Status            `json:"status"`
	Stage      string            `json:"stage"`
	Progress   float64           `json:"progress"`
	Speed      float64           `json:"speed"`
	ETASeconds *int64            `json:"eta_seconds"`
	Error      string            `json:"error,omitempty"`
	Cut        media.CutMode     `json:"cut"`
	Source     SourceView        `json:"source"`
	Requested  TimecodeSpans     `json:"requested"`
	Actual     TimecodeSpans     `json:"actual"`
	ReplayMS   int64             `json:"replay_duration_ms,omitempty"`
	Subtitles  []string          `json:"subtitles"`
	Outputs    []string          `json:"outputs"`
	Attempts   int               `json:"attempts"`
	CreatedBy  string            `json:"created_by"` // the name of the token that uploaded it
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
	FinishedAt *time.Time        `json:"finished_at,omitempty"`
	Playable   bool              `json:"playable"` // served from its first rendition, maybe before ready
	PlayableAt *time.Time        `json:"playable_at,omitempty"`
	Links      map[string]string `json:"links"`
}

// SourceView describes the uploaded original.
type SourceView struct {
	Key        string `json:"key"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	// FrameRate is the source's average frame rate, for editors that snap to frames (0: not
	// known, recordings uploaded before it was kept).
	FrameRate float64 `json:"frame_rate,omitempty"`
}

// Links are the URLs of a recording; outputs appear once it is ready.
func Links(r Recording) map[string]string {
	l := map[string]string{
		"self":   "/api/recordings/" + r.ID,
		"events": "/api/recordings/" + r.ID + "/events",
		"replay": "/api/replays/" + r.ID,
	}
	if !r.Status.Final() {
		l["cancel"] = "/api/recordings/" + r.ID + "/cancel"
	} else {
		l["edits"] = "/api/recordings/" + r.ID + "/edits"
	}
	if r.Status == StatusFailed || r.Status == StatusCancelled {
		l["retry"] = "/api/recordings/" + r.ID + "/retry"
	}
	if !r.PlayableAt.IsZero() && r.Status != StatusReady {
		// Playable before ready: the page and the master (which gains rungs as they finish).
		l["page"] = "/replays/" + r.ID
		l["hls"] = "/replays/" + r.ID + "/hls/master.m3u8"
	}
	if r.Status == StatusReady {
		l["page"] = "/replays/" + r.ID
		// The web stream routes serve /replays/{id}/{rel} from the key of rel in the replay's
		// current render generation (the outputs' one once ready).
		rels := map[string]bool{}
		for _, k := range r.Outputs {
			if _, rel, ok := layout.Replay(r.ID).Split(k); ok {
				rels[rel] = true
			}
		}
		for rel, name := range map[string]string{"video.mp4": "video", "audio.m4a": "audio", "hls/master.m3u8": "hls", "poster.jpg": "poster",
			"storyboard.vtt": "storyboard", "chapters.vtt": "chapters"} {
			if rels[rel] {
				l[name] = "/replays/" + r.ID + "/" + rel
			}
		}
		// The burned-in rendition (meta "burn_in").
		for rel := range rels {
			if lang, ok := layout.Replay(r.ID).BurnInLang(layout.Replay(r.ID).Key(rel)); ok {
				l["burn_in"] = "/replays/" + r.ID + "/" + layout.BurnInRel(lang)
			}
		}
	}
	return l
}

// NewView builds the JSON of r.
func NewView(r Recording) View {
	v := View{
		ID: r.ID, Status: r.Status, Stage: r.Stage, Progress: r.Progress, Speed: r.Speed, Error: r.Error, Cut: r.Plan.Cut,
		Source:    SourceView{Key: r.SourceKey, Size: r.SourceSize, SHA256: r.SourceSHA256, DurationMS: r.SourceLen.Milliseconds(), FrameRate: r.Plan.SourceFrameRate},
		Requested: nonNil(r.Plan.Spans), Actual: nonNil(r.Actual), ReplayMS: r.ReplayLen.Milliseconds(),
		Subtitles: nonNil(r.Subtitles), Outputs: []string{}, Attempts: r.Attempts, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Links: Links(r),
	}
	if r.ETA != nil {
		s := int64(*r.ETA / time.Second)
		v.ETASeconds = &s
	}
	if r.Status == StatusReady {
		v.Outputs = nonNil(r.Outputs) // visible only once the whole job has succeeded
	}
	if !r.FinishedAt.IsZero() {
		t := r.FinishedAt
		v.FinishedAt = &t
	}
	if !r.PlayableAt.IsZero() {
		t := r.PlayableAt
		v.Playable, v.PlayableAt = true, &t
	}
	return v
}

// Get answers GET /api/recordings/{id}.
func (a *API) Get(w http.ResponseWriter, r *http.Request) error {
	rec, err := a.s.Get(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, NewView(rec))
	return nil
}

// List answers GET /api/recordings?status=&limit=&offset=, newest first.
func (a *API) List(w http.ResponseWriter, r *http.Request) error {
	page, err := httpapi.ParsePage(r)
	if err != nil {
		return err
	}
	st := Status(r.URL.Query().Get("status"))
	switch st {
	case "", StatusQueued, StatusProcessing, StatusReady, StatusFailed, StatusCancelled:
	default:
		return httpapi.Invalid("status", "unknown status %q: use queued, processing, ready, failed or cancelled", st)
	}
	recs, total, err := a.s.store.list(r.Context(), st, page.Limit, page.Offset)
	if err != nil {
		return err
	}
	items := make([]View, len(recs))
	for i, rec := range recs {
		items[i] = NewView(rec)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{
		"items": items, "total": total, "limit": page.Limit, "offset": page.Offset, "next_offset": page.NextOffset(total),
	})
	return nil
}

// Cancel answers POST /api/recordings/{id}/cancel: the recording's owner or an admin only.
func (a *API) Cancel(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["id"]
	rec, err := a.s.Get(ctx, id)
	if err != nil {
		return err
	}
	p, _ := auth.FromContext(ctx)
	if err := CheckOwner(p, rec, "cancel"); err != nil {
		return err
	}
	rec, err = a.s.Cancel(ctx, id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, NewView(rec))
	return nil
}

// CheckOwner tells whether p may act on rec (cancel, retry, re-cut, delete): only the token that
// uploaded it or an admin may. Every animator may see every recording (collectives share their
// work); changing one is its owner's call. The error is a 403 that says so and whom to ask.
func CheckOwner(p auth.Principal, rec Recording, action string) error {
	if p.Role == auth.RoleAdmin || (rec.Owner != 0 && p.TokenID == rec.Owner) {
		return nil
	}
	by := "before owners were recorded"
	if rec.CreatedBy != "" {
		by = fmt.Sprintf("by %q", rec.CreatedBy)
	}
	return &httpapi.PublicError{Status: http.StatusForbidden, Err: httpapi.ErrForbidden, Msg: fmt.Sprintf(
		"only the token that uploaded recording %s (uploaded %s) or an admin may %s it; every animator may see it", rec.ID, by, action)}
}

// heartbeat is how often an idle event stream sends a comment, so that proxies keep it open.
var heartbeat = 15 * time.Second

// Events answers GET /api/recordings/{id}/events: Server-Sent Events, one "data:" line with the
// recording's JSON whenever it changes, until it reaches a final status.
func (a *API) Events(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["id"]
	rec, err := a.s.Get(ctx, id)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var last []byte
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	// Changes in this process wake the loop at once; the poll sees those of other processes.
	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	for {
		b, _ := json.Marshal(NewView(rec))
		if string(b) != string(last) {
			if _, err := fmt.Fprintf(w, "event: recording\ndata: %s\n\n", b); err != nil {
				return nil // the client went away
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
			last = b
		}
		if rec.Status.Final() {
			return nil
		}
		wake := a.s.changes.wait()
		select {
		case <-ctx.Done():
			return nil
		case <-beat.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		case <-wake:
		case <-poll.C:
		}
		if rec, err = a.s.Get(ctx, id); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			httpapi.Logger(ctx).Error("recording events", "recording_id", id, "error", err)
			return nil
		}
	}
}

const (
	maxMetaPart  = 1 << 20
	maxSubtitles = 50
)

// Upload answers POST /api/recordings: a multipart body with, in order, the `meta` JSON part, the
// `source` video (or `upload`, the id of a finished resumable upload, see createFromUpload) and
// zero or more `subtitles` files; or a JSON body that names a resumable upload. Each step runs
// once, in order: the meta is validated (readMeta), the source streams to storage as the
// untouched original (storeParts), ffprobe reads it from a hard link on local disk or from its
// ends (probeSource), the request is resolved against the probed duration into
// the Plan, and the plan is stored with the recording and its job (create) after the catalog
// learnt of the replay. The job reads the plan and the source. Anything
// refused removes what was stored: no half-stored recording remains.
func (a *API) Upload(w http.ResponseWriter, r *http.Request) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		return a.createFromUpload(w, r)
	}
	ctx := r.Context()
	s := a.s
	mr, err := multipartReader(r)
	if err != nil {
		return httpapi.Errorf(http.StatusUnsupportedMediaType, "send multipart/form-data with the parts meta, source and optional subtitles, or JSON {\"upload\", \"meta\", \"subtitles\"} after a resumable upload")
	}
	metaJSON, req, err := s.readMeta(ctx, mr)
	if err != nil {
		return err
	}
	up := s.startUpload(a.uploads)
	ok := false
	defer func() { up.end(ctx, ok) }()
	if err := up.storeParts(ctx, mr); err != nil {
		return err
	}
	if err := a.queue(w, r, up, metaJSON, req); err != nil {
		return err
	}
	ok = true
	return nil
}

// startUpload marks a new recording's upload as in progress: the sweep leaves it alone, however
// slow. end removes what it stored unless ok.
func (s *Service) startUpload(uploads Uploads) *upload {
	up := &upload{s: s, id: newID(), uploads: uploads}
	s.mu.Lock()
	s.uploading[up.id] = true
	s.mu.Unlock()
	return up
}

func (u *upload) end(ctx context.Context, ok bool) {
	if !ok {
		u.cleanup(context.WithoutCancel(ctx))
	}
	u.s.mu.Lock()
	delete(u.s.uploading, u.id)
	u.s.mu.Unlock()
}

// queue ends an upload whose source and subtitles are stored: it checks them, probes the source,
// resolves the plan, tells the catalog, creates the recording and its job, and answers 202.
func (a *API) queue(w http.ResponseWriter, r *http.Request, up *upload, metaJSON []byte, req Request) error {
	ctx := r.Context()
	s := a.s
	if req.BurnIn != "" && !slices.Contains(up.langs, req.BurnIn) {
		return httpapi.Invalid("burn_in", "no subtitles file in %s to burn in: add a subtitles part named %s.srt (or .vtt, .ass, .ssa, .ttml)",
			req.BurnIn, req.BurnIn)
	}
	if err := up.takeResumable(ctx); err != nil {
		return err
	}
	probe, err := up.probeSource(ctx)
	if err != nil {
		return err
	}
	duration := probe.Duration
	plan, err := req.Resolve(duration)
	if err != nil {
		return err
	}
	plan.SourceFrameRate = probe.FrameRate
	if err := s.writeCatalog(ctx, up.id, plan, replayState{Processing: catalog.Processing}); err != nil {
		return err
	}
	p, _ := auth.FromContext(ctx)
	rec := Recording{
		ID: up.id, Meta: metaJSON, Plan: plan, SourceKey: up.sourceKey(), SourceSize: up.size, SourceSHA256: up.sha256,
		SourceLen: duration, Subtitles: up.subtitles, CreatedBy: p.Name, Owner: p.TokenID,
	}
	if err := s.create(ctx, rec); err != nil {
		_ = s.writeCatalog(context.WithoutCancel(ctx), up.id, plan, replayState{Processing: catalog.Failed})
		return err
	}
	httpapi.Logger(ctx).Info("recording queued", "recording_id", up.id, "size", up.size, "duration_ms", duration.Milliseconds(),
		"resumable_upload", up.resumable)
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{
		"id": up.id, "status": StatusQueued, "links": Links(Recording{ID: up.id, Status: StatusQueued}),
		"warnings": nonNil(up.warnings),
	})
	return nil
}

// readMeta reads and validates the first part, meta, and checks its tags against the catalog.
func (s *Service) readMeta(ctx context.Context, mr *formparts.Reader) ([]byte, Request, error) {
	part, err := nextPart(mr)
	if err != nil {
		return nil, Request{}, err
	}
	if part == nil || part.FormName() != "meta" {
		return nil, Request{}, httpapi.Invalid("meta", "the first part must be meta (the recording's JSON description), before the source")
	}
	metaJSON, err := io.ReadAll(io.LimitReader(part, maxMetaPart+1))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, Request{}, httpapi.Invalid("meta", "the body ended inside the meta part: send the whole form")
	}
	if err != nil {
		return nil, Request{}, fmt.Errorf("pipeline: read meta: %w", err)
	}
	req, err := s.checkMeta(ctx, metaJSON)
	return metaJSON, req, err
}

// checkMeta validates the meta JSON and checks its tags against the catalog.
func (s *Service) checkMeta(ctx context.Context, metaJSON []byte) (Request, error) {
	if len(metaJSON) > maxMetaPart {
		return Request{}, httpapi.Invalid("meta", "the meta part is larger than %d bytes", maxMetaPart)
	}
	req, err := ParseMeta(metaJSON)
	if err != nil {
		return Request{}, err
	}
	if err := s.cfg.Catalog.CheckTags(ctx, "documents", req.Documents); err != nil {
		return Request{}, err
	}
	if err := s.checkChapterTags(ctx, req); err != nil {
		return Request{}, err
	}
	return req, nil
}

// storeParts stores the source part that must follow meta, then the subtitles parts.
func (u *upload) storeParts(ctx context.Context, mr *formparts.Reader) error {
	part, err := nextPart(mr)
	if err != nil {
		return err
	}
	switch {
	case part != nil && part.FormName() == "upload":
		if err := u.readUploadID(ctx, part); err != nil {
			return err
		}
	case part == nil || part.FormName() != "source":
		return httpapi.Invalid("source", "the part after meta must be source (the video file), or upload (the id of a finished resumable upload)")
	default:
		if err := u.storeSource(ctx, part); err != nil {
			return err
		}
	}
	for i := 0; ; i++ {
		if part, err = nextPart(mr); err != nil {
			return err
		}
		if part == nil {
			return nil
		}
		if part.FormName() != "subtitles" {
			return httpapi.Invalid(part.FormName(), "unexpected part %q after source: only subtitles may follow", part.FormName())
		}
		if i >= maxSubtitles {
			return httpapi.Invalid("subtitles", "more than %d subtitle files", maxSubtitles)
		}
		if err := u.storeSubtitle(ctx, i, part); err != nil {
			return err
		}
	}
}

// probeSource reads the source with ffprobe, once (see probe), and checks it is a video within
// the limits.
func (u *upload) probeSource(ctx context.Context) (media.Probe, error) {
	probe, err := u.probe(ctx)
	if errors.Is(err, media.ErrNotMedia) {
		var me *media.Error
		if errors.As(err, &me) && me.Hint != "" {
			return media.Probe{}, httpapi.Invalid("source", "not a video file: %s", me.Hint)
		}
		return media.Probe{}, httpapi.Invalid("source", "not a video file that ffmpeg can read")
	}
	if err != nil {
		return media.Probe{}, fmt.Errorf("pipeline: probe upload %s: %w", u.id, err)
	}
	if !probe.HasVideo {
		return media.Probe{}, httpapi.Invalid("source", "the file has no video stream; upload the screen or camera recording")
	}
	if err := u.s.cfg.Limits.check(probe); err != nil {
		return media.Probe{}, err
	}
	return probe, nil
}

// create inserts the recording and its job in one transaction.
func (s *Service) create(ctx context.Context, rec Recording) error {
	tx, err := s.cfg.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pipeline: create %s: %w", rec.ID, err)
	}
	defer tx.Rollback()
	if err := s.store.insert(ctx, tx, rec); err != nil {
		return err
	}
	res, err := s.river.InsertTx(ctx, tx, ProcessArgs{RecordingID: rec.ID}, nil)
	if err != nil {
		return fmt.Errorf("pipeline: enqueue %s: %w", rec.ID, err)
	}
	if err := s.store.setJob(ctx, tx, rec.ID, res.Job.ID); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pipeline: create %s: %w", rec.ID, err)
	}
	s.changes.notify()
	if s.cfg.InsertOnly {
		// No job runs here: the worker downloads the source from storage, the spool is waste.
		_ = os.RemoveAll(s.workDir(rec.ID))
	}
	return nil
}

// nextPart returns the next part, or nil at the end of the body.
func nextPart(mr *formparts.Reader) (*formparts.Part, error) {
	p, err := mr.NextPart()
	if err == io.EOF {
		return nil, nil
	}
	var maxBytes *http.MaxBytesError
	if errors.As(err, &maxBytes) {
		return nil, err
	}
	if err != nil {
		return nil, httpapi.Invalid("", "malformed multipart body: %v", err)
	}
	return p, nil
}

// multipartReader reads r's multipart/form-data body (only that type) part by part. formparts
// rather than r.MultipartReader: mime/multipart reads the body 4 KiB at a time and hands out a
// part at most 4 KiB per Read; formparts reads up to 1 MiB at a time, into the S3 store's part
// buffer when it can (issue #12: the server's CPU per 2 GiB form fell by ~0.3 s of ~5.2 s).
func multipartReader(r *http.Request) (*formparts.Reader, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, http.ErrNotMultipart
	}
	return formparts.NewReader(r.Body, params["boundary"]), nil
}

// uploadBuffer is the copy size of a source downloaded into the spool: one read(2) and one
// write(2) per MiB rather than per 32 KiB.
const uploadBuffer = 1 << 20

// upload is one POST /api/recordings in progress: what it stored so far, to remove on failure.
type upload struct {
	s         *Service
	id        string
	uploads   Uploads
	resumable string // the id of the resumable upload that is the source (createFromUpload)
	spool     string // the whole source on local disk, for the job; "" when only storage has it
	probeFile string // the sparse file of the source's ends that the probe reads (probe_ends.go)
	size      int64
	sha256    string
	stored    []string // storage keys
	subtitles []string
	langs     []string // of subtitles, canonical
	warnings  []string // what parsing the subtitles skipped, "en.vtt: line 3: ..."
}

func (u *upload) sourceKey() string { return layout.Recording(u.id).SourceKey() }

// limitReader fails with errOverLimit once more than limit bytes came through. It keeps the
// error of r, which storage wraps its own way.
type limitReader struct {
	r     io.Reader
	n     int64
	limit int64
	err   error // of r, other than io.EOF
}

var errOverLimit = errors.New("pipeline: upload over the limit")

func (l *limitReader) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	if err != nil && err != io.EOF {
		l.err = err
	}
	l.n += int64(n)
	if l.n > l.limit {
		return 0, errOverLimit
	}
	return n, err
}

// storeSource streams the source part to storage. The probe then reads a hard link of the stored
// file (Dir), or a sparse file of the source's ends (probe_ends.go): the first bytes kept as they
// pass, the last ones read back from storage. The job downloads the whole source when it needs it.
func (u *upload) storeSource(ctx context.Context, part *formparts.Part) error {
	s := u.s
	var head *headWriter
	var body io.Reader
	lr := &limitReader{r: part, limit: s.cfg.MaxUpload}
	body = lr
	if _, canLink := s.cfg.Store.(fileLinker); !canLink {
		f, err := u.startProbeFile()
		if err != nil {
			return fmt.Errorf("pipeline: upload %s: %w", u.id, err)
		}
		defer f.Close()
		head = &headWriter{f: f, left: probeEnd}
		body = io.TeeReader(lr, head)
	}
	ct := part.Header.Get("Content-Type")
	if ct == "" || strings.HasPrefix(ct, "multipart/") {
		ct = "application/octet-stream"
	}
	u.stored = append(u.stored, u.sourceKey())
	info, err := s.cfg.Store.Put(ctx, u.sourceKey(), body, -1, ct)
	if errors.Is(err, errOverLimit) || lr.n > lr.limit {
		return httpapi.Errorf(http.StatusRequestEntityTooLarge, "source: the recording is larger than the upload limit of %s (ATELIER_MAX_UPLOAD)",
			byteSize(s.cfg.MaxUpload))
	}
	if err != nil && errors.Is(lr.err, io.ErrUnexpectedEOF) {
		// The form's fault (or the client's, gone), not the storage's: the body ended before
		// the boundary after the source.
		return httpapi.Invalid("source", "the body ended inside the source part: send the whole form")
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("pipeline: store source of %s: %w", u.id, err)
	}
	if info.Size == 0 {
		return httpapi.Invalid("source", "the source file is empty")
	}
	u.size, u.sha256 = info.Size, info.SHA256
	if head == nil {
		if err := os.MkdirAll(s.workDir(u.id), 0o750); err != nil {
			return fmt.Errorf("pipeline: upload %s: %w", u.id, err)
		}
		if u.linkSpool(ctx) {
			return nil
		}
		return u.probeEnds(ctx)
	}
	err = u.writeEnds(ctx, head.f, probeEnd-head.left)
	if cerr := head.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pipeline: probe file of %s: %w", u.id, err)
	}
	return nil
}

var subtitleExts = map[string]string{
	".srt": "application/x-subrip", ".vtt": "text/vtt", ".ass": "text/x-ass", ".ssa": "text/x-ssa",
	".ttml": "application/ttml+xml",
}

// storeSubtitle reads one subtitles part (at most subtitle.MaxFileSize), checks that it parses
// and stores it as sent under recordings/{id}/subtitles/{lang}.{ext}. A file that does not parse
// is refused here, with the line at fault, rather than skipped when the job publishes tracks;
// blocks skipped as a browser skips them go to the answer's warnings.
func (u *upload) storeSubtitle(ctx context.Context, i int, part *formparts.Part) error {
	field := fmt.Sprintf("subtitles[%d]", i)
	name := filepath.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
	data, err := io.ReadAll(io.LimitReader(part, subtitle.MaxFileSize+1))
	if err != nil {
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) || ctx.Err() != nil {
			return err
		}
		return httpapi.Invalid(field, "reading subtitle file %q failed: %v", name, err)
	}
	return u.addSubtitle(ctx, field, name, data)
}

// addSubtitle checks and stores one subtitle file, named name, for the field at fault.
func (u *upload) addSubtitle(ctx context.Context, field, name string, data []byte) error {
	ext := strings.ToLower(filepath.Ext(name))
	ct, ok := subtitleExts[ext]
	if !ok {
		return httpapi.Invalid(field, "subtitle file %q: use .srt, .vtt, .ass, .ssa or .ttml, named after its language (fr.srt)", name)
	}
	// The same rule as the subtitle API (PUT .../subtitles/{lang}), so that both name a
	// language's track alike and a later PUT replaces this file.
	lang, err := subtitle.CanonicalLang(strings.TrimSuffix(name, filepath.Ext(name)))
	if err != nil {
		return httpapi.Invalid(field, "subtitle file %q: name it after its language, e.g. fr.srt or pt-BR.vtt", name)
	}
	key := layout.Recording(u.id).SubtitleKey(lang, ext)
	for _, k := range u.subtitles {
		if strings.TrimSuffix(k, filepath.Ext(k)) == strings.TrimSuffix(key, ext) {
			return httpapi.Invalid(field, "a second subtitle file for language %s", lang)
		}
	}
	if len(data) > subtitle.MaxFileSize {
		return httpapi.Errorf(http.StatusRequestEntityTooLarge, "%s: subtitle file %q is larger than %s", field, name, byteSize(subtitle.MaxFileSize))
	}
	_, warnings, err := subtitle.ParseWarn(data, name)
	if err != nil {
		var pe *subtitle.ParseError
		if errors.As(err, &pe) {
			return httpapi.Invalid(field, "%s: %s", name, pe.Where())
		}
		return fmt.Errorf("pipeline: check subtitles of %s: %w", u.id, err)
	}
	for _, w := range warnings {
		u.warnings = append(u.warnings, name+": "+w.String())
	}
	u.stored = append(u.stored, key)
	if _, err := u.s.cfg.Store.Put(ctx, key, bytes.NewReader(data), int64(len(data)), ct); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("pipeline: store subtitles of %s: %w", u.id, err)
	}
	u.subtitles = append(u.subtitles, key)
	u.langs = append(u.langs, lang)
	return nil
}

// cleanup removes what a refused upload stored.
func (u *upload) cleanup(ctx context.Context) {
	for _, k := range u.stored {
		if err := u.s.cfg.Store.Delete(ctx, k); err != nil {
			u.s.log.Error("removing a refused upload", "recording_id", u.id, "key", k, "error", err)
		}
	}
	_ = os.RemoveAll(u.s.workDir(u.id))
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
