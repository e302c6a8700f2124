package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/assets/tusstore"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/formparts"
	"codeberg.org/atelier/atelier/internal/httpapi"
)

// Uploads is what the pipeline needs of the resumable upload service (assets/tusstore.Store):
// to describe an upload, and to make a finished one the source of a recording without copying it.
type Uploads interface {
	Lookup(ctx context.Context, id string) (tusstore.Upload, error)
	Take(ctx context.Context, id, key, contentType string) (tusstore.Upload, assets.Info, error)
	// LocalPath is where a finished upload's bytes are on local disk, when they are (Dir).
	LocalPath(id string) (string, bool)
}

var _ Uploads = (*tusstore.Store)(nil)

// WithUploads lets POST /api/recordings take its source from the resumable uploads of u.
func (a *API) WithUploads(u Uploads) *API {
	return &API{s: a.s, uploads: u}
}

// maxCreateJSON bounds the JSON body of createFromUpload: the meta and every subtitle file.
const maxCreateJSON = maxMetaPart + maxSubtitles*(4<<20)

// createRequest is the JSON body of POST /api/recordings after a resumable upload.
type createRequest struct {
	Upload string  `json:"upload"`
	Meta   jsonRaw `json:"meta"`
	// Subtitles maps a file name named after its language ("fr.srt", "pt-BR.vtt") to its text.
	Subtitles map[string]string `json:"subtitles"`
}

// createFromUpload answers POST /api/recordings with a JSON body {"upload", "meta",
// "subtitles"}: the recording's source is the finished resumable upload, which becomes
// recordings/{id}/source without a copy through this process (a rename on disk, a server-side
// copy in S3). Everything is checked before the upload is taken: a refused request leaves it
// in place, to be named again.
func (a *API) createFromUpload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var body createRequest
	r.Body = http.MaxBytesReader(w, r.Body, maxCreateJSON)
	if err := httpapi.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if len(body.Meta) == 0 {
		return httpapi.Invalid("meta", "meta (the recording's JSON description) is required")
	}
	req, err := a.s.checkMeta(ctx, body.Meta)
	if err != nil {
		return err
	}
	up := a.s.startUpload(a.uploads)
	ok := false
	defer func() { up.end(ctx, ok) }()
	if err := up.setUploadID(ctx, body.Upload); err != nil {
		return err
	}
	if len(body.Subtitles) > maxSubtitles {
		return httpapi.Invalid("subtitles", "more than %d subtitle files", maxSubtitles)
	}
	names := make([]string, 0, len(body.Subtitles))
	for name := range body.Subtitles {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if strings.ContainsAny(name, `/\`) {
			return httpapi.Invalid("subtitles."+name, "name the file after its language only, e.g. fr.srt")
		}
		if err := up.addSubtitle(ctx, "subtitles."+name, name, []byte(body.Subtitles[name])); err != nil {
			return err
		}
	}
	if err := a.queue(w, r, up, body.Meta, req); err != nil {
		return err
	}
	ok = true
	return nil
}

// jsonRaw is a json.RawMessage that keeps "null" out.
type jsonRaw []byte

func (j *jsonRaw) UnmarshalJSON(b []byte) error {
	if string(b) != "null" {
		*j = append((*j)[:0], b...)
	}
	return nil
}

// readUploadID reads the multipart form's upload part, the id of a finished resumable upload.
func (u *upload) readUploadID(ctx context.Context, part *formparts.Part) error {
	b, err := io.ReadAll(io.LimitReader(part, 256))
	if err != nil {
		return httpapi.Invalid("upload", "reading the upload part failed: %v", err)
	}
	return u.setUploadID(ctx, strings.TrimSpace(string(b)))
}

// setUploadID checks that id names a finished upload of this animator's, to be taken once the
// rest of the request is checked (takeResumable).
func (u *upload) setUploadID(ctx context.Context, id string) error {
	if u.uploads == nil {
		return httpapi.Invalid("upload", "this server takes no resumable uploads: send the video as the source part")
	}
	if id == "" {
		return httpapi.Invalid("upload", "upload (the id of a finished upload to /api/uploads/) is required")
	}
	id = id[strings.LastIndexByte(id, '/')+1:] // the upload's URL is accepted too
	tu, err := u.uploads.Lookup(ctx, id)
	if errors.Is(err, tusstore.ErrNotFound) {
		return httpapi.Invalid("upload", "no upload %s: it is unknown, expired (a day without data) or already a recording; upload the file again", id)
	}
	if err != nil {
		return fmt.Errorf("pipeline: upload %s: %w", id, err)
	}
	p, _ := auth.FromContext(ctx)
	if tu.Owner != 0 && tu.Owner != p.TokenID && p.Role != auth.RoleAdmin {
		return &httpapi.PublicError{Status: http.StatusForbidden, Err: httpapi.ErrForbidden,
			Msg: fmt.Sprintf("upload %s was sent with another token: only its sender or an admin may make it a recording", id)}
	}
	if !tu.Finished {
		return httpapi.Invalid("upload", "upload %s has %d of its %d bytes: send the rest (PATCH /api/uploads/%s) first", id, tu.Offset, tu.Size, id)
	}
	if tu.Size == 0 {
		return httpapi.Invalid("source", "the source file is empty")
	}
	u.resumable = id
	// The recording takes the upload's id (the same form as newID's): on S3 the upload was built
	// at that recording's source key (cmd/atelier's tusstore.Config.Key), and is taken in place.
	s := u.s
	s.mu.Lock()
	delete(s.uploading, u.id)
	u.id = id
	s.uploading[u.id] = true
	s.mu.Unlock()
	return nil
}

// takeResumable makes the resumable upload the recording's source. The probe and the job read a
// hard link of the upload's file when it is on local disk (no copy); otherwise the probe reads
// the source's ends (probe_ends.go) and the job downloads it.
func (u *upload) takeResumable(ctx context.Context) error {
	if u.resumable == "" {
		return nil
	}
	s := u.s
	if err := os.MkdirAll(s.workDir(u.id), 0o750); err != nil {
		return fmt.Errorf("pipeline: upload %s: %w", u.id, err)
	}
	u.spool = s.spoolPath(u.id)
	linked := false
	if p, ok := u.uploads.LocalPath(u.resumable); ok {
		linked = os.Link(p, u.spool) == nil
	}
	u.stored = append(u.stored, u.sourceKey())
	_, info, err := u.uploads.Take(ctx, u.resumable, u.sourceKey(), "application/octet-stream")
	switch {
	case errors.Is(err, tusstore.ErrNotFound), errors.Is(err, tusstore.ErrUnfinished):
		return httpapi.Invalid("upload", "upload %s is no longer available (taken meanwhile?): upload the file again", u.resumable)
	case err != nil:
		return fmt.Errorf("pipeline: take upload %s: %w", u.resumable, err)
	}
	u.size, u.sha256 = info.Size, info.SHA256
	if !linked {
		u.spool = ""
		return u.probeEnds(ctx)
	}
	return nil
}

// spoolFromStore downloads the stored source into the spool (for a probe its ends cannot do).
func (u *upload) spoolFromStore(ctx context.Context) error {
	rc, _, err := u.s.cfg.Store.Open(ctx, u.sourceKey(), nil)
	if err != nil {
		return fmt.Errorf("pipeline: read source of %s: %w", u.id, err)
	}
	defer rc.Close()
	f, err := os.Create(u.spool)
	if err != nil {
		return fmt.Errorf("pipeline: spool source of %s: %w", u.id, err)
	}
	_, err = io.CopyBuffer(struct{ io.Writer }{f}, rc, make([]byte, uploadBuffer))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pipeline: spool source of %s: %w", u.id, err)
	}
	return nil
}
