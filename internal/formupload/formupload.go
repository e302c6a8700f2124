// Package formupload builds the multipart/form-data body of POST /api/recordings for Go
// clients (`atelier upload --resume=false`, the bench) as browsers and curl send a form: with
// its length known in advance.
//
// A body written through io.Pipe has no length, so it goes out in chunked transfer encoding:
// every byte of a 4 GB recording then passes through the pipe, the chunk framing on the client
// and the chunk parser on the server. Here only the few kilobytes around the source are
// written ahead; the source itself is read straight from its reader, or, when it is a file and
// the request goes through Transport on plain TCP, sent by sendfile(2) (see Transport).
package formupload

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
)

// Body is a form body and what a request needs to send it. It reads as the whole form: the
// parts before the source, the source, the parts after it.
type Body struct {
	Size        int64  // the Content-Length
	ContentType string // multipart/form-data with its boundary

	// Progress, when set, is called with the number of the source's bytes sent so far: after
	// each read of the source, or each slice of at most progressStep sent by sendfile.
	Progress func(sent int64)

	head, tail []byte
	src        io.Reader
	srcSize    int64
	off        int64 // bytes of the body read or sent so far
}

// progressStep is the largest slice of the source sent by one sendfile call when Progress is
// set: a progress bar moves every few tens of milliseconds at the speed of a local network.
const progressStep = 8 << 20

// Source returns a body of src alone (size bytes, no form around it), sent the same way as a
// form's source: the body of a tus PATCH.
func Source(src io.Reader, size int64) *Body {
	return &Body{Size: size, src: src, srcSize: size}
}

// New returns the form of fields meta (application/json), source (src, srcSize bytes, named
// srcName) and one subtitles part per file of subs, in that order: the order the server
// requires. The subtitle files are read now (the server refuses any larger than a few MiB);
// src is read as the body is.
func New(meta []byte, src io.Reader, srcSize int64, srcName string, subs []string) (*Body, error) {
	var head, tail bytes.Buffer
	out := &switchWriter{w: &head}
	mw := multipart.NewWriter(out)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="meta"`)
	h.Set("Content-Type", "application/json")
	w, err := mw.CreatePart(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(meta); err != nil {
		return nil, err
	}
	if _, err := mw.CreateFormFile("source", srcName); err != nil {
		return nil, err
	}
	out.w = &tail // the source's bytes go between head and tail
	for _, s := range subs {
		data, err := os.ReadFile(s)
		if err != nil {
			return nil, fmt.Errorf("formupload: %w", err)
		}
		w, err := mw.CreateFormFile("subtitles", filepath.Base(s))
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return &Body{
		Size:        int64(head.Len()) + srcSize + int64(tail.Len()),
		ContentType: mw.FormDataContentType(),
		head:        head.Bytes(), tail: tail.Bytes(), src: src, srcSize: srcSize,
	}, nil
}

// Read reads the form.
func (b *Body) Read(p []byte) (int, error) {
	if b.off >= b.Size {
		return 0, io.EOF
	}
	if fixed := b.fixed(); len(fixed) > 0 {
		n := copy(p, fixed)
		b.off += int64(n)
		return n, nil
	}
	n, err := b.src.Read(p[:min(int64(len(p)), b.srcEnd()-b.off)])
	b.off += int64(n)
	b.progress(b.off)
	if err == io.EOF {
		if b.off < b.srcEnd() {
			return n, b.srcEnded()
		}
		err = nil
	}
	return n, err
}

// fixed is the rest of the head or of the tail from where the body is read or sent to: empty
// while the source is, and at the end.
func (b *Body) fixed() []byte {
	switch head := int64(len(b.head)); {
	case b.off < head:
		return b.head[b.off:]
	case b.off < b.srcEnd():
		return nil
	default:
		return b.tail[b.off-b.srcEnd():]
	}
}

// srcEnd is the body's offset where the source ends and the tail begins.
func (b *Body) srcEnd() int64 { return int64(len(b.head)) + b.srcSize }

// Len is the number of the body's bytes not read or sent yet (a request's ContentLength).
func (b *Body) Len() int64 { return b.Size - b.off }

// progress reports the source's bytes sent when off bytes of the body are.
func (b *Body) progress(off int64) {
	if b.Progress != nil {
		b.Progress(min(max(off-int64(len(b.head)), 0), b.srcSize))
	}
}

// Close does nothing: the caller owns the source. (With it, net/http sends a *Body as the
// request's body itself, not wrapped in a NopCloser, so that Transport's connections see it.)
func (b *Body) Close() error { return nil }

// srcEnded is the error of a source that ended before its size.
func (b *Body) srcEnded() error {
	return fmt.Errorf("formupload: the source ended after %d of its %d bytes: %w", b.off-int64(len(b.head)), b.srcSize, io.ErrUnexpectedEOF)
}

// Request is a POST of the form to url, with its Content-Length and Content-Type: without the
// length, net/http would send it chunked.
func (b *Body) Request(ctx context.Context, url string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, b)
	if err != nil {
		return nil, err
	}
	req.ContentLength = b.Size
	req.Header.Set("Content-Type", b.ContentType)
	return req, nil
}

// switchWriter lets one multipart.Writer write the parts before and after the source into two
// buffers.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }
