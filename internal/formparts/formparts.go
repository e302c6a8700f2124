// Package formparts reads a multipart/form-data body part by part, as mime/multipart's Reader
// does, but through one large buffer: a part's bytes come out in chunks as large as the buffer
// holds, where mime/multipart reads and hands out at most 4 KiB at a time (its bufio.Reader has
// a fixed size). A large Read takes the body straight into the caller's buffer, and the boundary
// is found by Horspool rather than bytes.Index (see index). BenchmarkSourcePart: a 64 MiB part
// into 16 MiB buffers at ~8 GB/s, against ~4.4 GB/s for mime/multipart (issue #12, the 2 GiB
// form upload).
//
// It accepts what mime/multipart accepts and refuses what it refuses (a fuzz test holds the two
// to the same parts), with these differences:
//   - a boundary longer than 70 bytes (RFC 2046's limit) is refused;
//   - a part's header block is limited to MaxHeaderBytes (mime/multipart: 10 MiB and 10 000
//     fields), so that a hostile header cannot grow memory;
//   - it has no NextRawPart, ReadForm or temporary files: parts stream, in order.
//
// Like mime/multipart, a line before the first boundary or between parts is limited to 4 KiB,
// a Content-Transfer-Encoding of quoted-printable is decoded and the header hidden, and a body
// whose first boundary line ends in a bare "\n" is read in that mode throughout.
package formparts

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/textproto"
	"path/filepath"
	"strings"
)

// BufferSize is the size of a Reader's buffer: the largest read from the body and the largest
// chunk of a part's bytes a Read returns.
const BufferSize = 1 << 20

// MaxHeaderBytes is the largest header block of a part. A browser sends ~100 bytes.
const MaxHeaderBytes = 16 << 10

// maxLine is the longest line (its "\n" included) before the first boundary or between parts:
// mime/multipart reads those lines through its 4 KiB bufio.Reader and fails on a longer one.
const maxLine = 4096

// maxBoundary is RFC 2046's limit on a boundary's length.
const maxBoundary = 70

// ErrMessageTooLarge is returned by NextPart when a part's header block is larger than
// MaxHeaderBytes.
var ErrMessageTooLarge = errors.New("formparts: part header too large")

var errLineTooLong = errors.New("formparts: line longer than 4096 bytes outside a part")

// Reader is an iterator over the parts of a multipart body.
type Reader struct {
	src  io.Reader
	buf  []byte
	r, w int   // buf[r:w] is read from src and not yet consumed
	err  error // the first error from src; src is not read after it

	maxHeader int

	current   *Part
	partsRead int
	// As in mime/multipart: nl is "\r\n", or "\n" once the first boundary line ended in a bare
	// "\n"; nlDashBoundary is nl+"--"+boundary.
	nl, nlDashBoundary, dashBoundaryDash, dashBoundary []byte
	badBoundary                                        error

	// skip is the Horspool shift of each byte for nlDashBoundary (index), built for skipLen.
	skip    [256]uint8
	skipLen int
}

// NewReader returns a Reader of the multipart body r with the given boundary (the "boundary"
// parameter of its Content-Type), reading r BufferSize bytes at a time.
func NewReader(r io.Reader, boundary string) *Reader {
	return newReaderSize(r, boundary, BufferSize)
}

// newReaderSize is NewReader with a buffer of size bytes, which grows when a line or a header
// block does not fit (tests use tiny ones).
func newReaderSize(r io.Reader, boundary string, size int) *Reader {
	b := []byte("\r\n--" + boundary + "--")
	mr := &Reader{
		src:              r,
		buf:              make([]byte, max(size, 2*(len(b)+2))),
		maxHeader:        MaxHeaderBytes,
		nl:               b[:2],
		nlDashBoundary:   b[:len(b)-2],
		dashBoundaryDash: b[2:],
		dashBoundary:     b[2 : len(b)-2],
	}
	switch {
	case boundary == "":
		mr.badBoundary = errors.New("formparts: boundary is empty")
	case len(boundary) > maxBoundary:
		mr.badBoundary = fmt.Errorf("formparts: boundary of %d bytes, longer than %d", len(boundary), maxBoundary)
	}
	return mr
}

// fill reads from src once more into the free end of the buffer (making room first), unless an
// error was seen already. It returns the error of src, sticky.
func (mr *Reader) fill() error {
	if mr.err != nil {
		return mr.err
	}
	if mr.r == mr.w {
		mr.r, mr.w = 0, 0
	}
	if free := len(mr.buf) - mr.w; free < len(mr.buf)/4 {
		if mr.r > 0 {
			mr.w = copy(mr.buf, mr.buf[mr.r:mr.w])
			mr.r = 0
		}
		if mr.w == len(mr.buf) {
			// Only lines and header blocks, whose callers bound them, fill the whole buffer.
			mr.buf = append(mr.buf, make([]byte, len(mr.buf))...)
		}
	}
	n, err := readSome(mr.src, mr.buf[mr.w:])
	mr.w += n
	mr.err = err
	return err
}

// readSome reads from src into d until it gets a byte or an error, as bufio.Reader does: a
// reader that keeps returning nothing is io.ErrNoProgress after 100 tries.
func readSome(src io.Reader, d []byte) (int, error) {
	for range 100 {
		n, err := src.Read(d)
		if n < 0 || n > len(d) {
			panic("formparts: invalid Read count")
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// readLine returns the next line, its "\n" included, as bufio.Reader.ReadSlice('\n') on
// mime/multipart's 4 KiB buffer returns it: with errLineTooLong after 4096 bytes without "\n",
// or with src's error and what came before it.
func (mr *Reader) readLine() ([]byte, error) {
	searched := 0 // bytes of the line known to hold no "\n", so that a line trickling in is scanned once
	for {
		buffered := mr.buf[mr.r:mr.w]
		if i := bytes.IndexByte(buffered[searched:min(len(buffered), maxLine)], '\n'); i >= 0 {
			mr.r += searched + i + 1
			return buffered[:searched+i+1], nil
		}
		if len(buffered) >= maxLine {
			mr.r += maxLine
			return buffered[:maxLine], errLineTooLong
		}
		if mr.err != nil {
			mr.r = mr.w
			return buffered, mr.err
		}
		searched = len(buffered)
		mr.fill()
	}
}

// NextPart returns the next part of the body, or io.EOF after the last. The previous part's
// remaining bytes are skipped.
func (mr *Reader) NextPart() (*Part, error) {
	if mr.current != nil {
		mr.current.skip()
		mr.current = nil
	}
	if mr.badBoundary != nil {
		return nil, mr.badBoundary
	}
	expectNewPart := false
	for {
		line, err := mr.readLine()
		if err == io.EOF && mr.isFinalBoundary(line) {
			// "--boundary--" without its "\r\n" at the very end.
			return nil, io.EOF
		}
		if err != nil {
			return nil, fmt.Errorf("formparts: NextPart: %w", err)
		}
		if mr.isBoundaryDelimiterLine(line) {
			mr.partsRead++
			p, err := mr.newPart()
			if err != nil {
				return nil, err
			}
			mr.current = p
			return p, nil
		}
		if mr.isFinalBoundary(line) {
			return nil, io.EOF
		}
		if expectNewPart {
			return nil, fmt.Errorf("formparts: expecting a new part; got line %q", line)
		}
		if mr.partsRead == 0 {
			continue // the preamble
		}
		// The line break between a part's bytes and the boundary line that must follow.
		if bytes.Equal(line, mr.nl) {
			expectNewPart = true
			continue
		}
		return nil, fmt.Errorf("formparts: unexpected line after a part: %q", line)
	}
}

// isFinalBoundary tells whether line is `--boundary--[ \t]*(\r\n)?`.
func (mr *Reader) isFinalBoundary(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, mr.dashBoundaryDash)
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t")
	return len(rest) == 0 || bytes.Equal(rest, mr.nl)
}

// isBoundaryDelimiterLine tells whether line is `--boundary[ \t]*\r\n`; a bare "\n" ending the
// first one switches the reader to "\n" line breaks, as mime/multipart does.
func (mr *Reader) isBoundaryDelimiterLine(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, mr.dashBoundary)
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t")
	if mr.partsRead == 0 && len(rest) == 1 && rest[0] == '\n' {
		mr.nl = mr.nl[1:]
		mr.nlDashBoundary = mr.nlDashBoundary[1:]
	}
	return bytes.Equal(rest, mr.nl)
}

// newPart reads a part's header block, which ends at the first empty line ("\r\n" or "\n"), and
// parses it with net/textproto as mime/multipart does.
func (mr *Reader) newPart() (*Part, error) {
	end := -1
	var scan headerScan
	for {
		buffered := mr.buf[mr.r:mr.w]
		if end = scan.end(buffered); end >= 0 || len(buffered) > mr.maxHeader || mr.err != nil {
			break
		}
		mr.fill()
	}
	block := mr.buf[mr.r:mr.w]
	switch {
	case end >= 0 && end <= mr.maxHeader:
		block = block[:end]
	case len(block) > mr.maxHeader:
		return nil, ErrMessageTooLarge
	}
	// An incomplete block (src ended or failed) fails in textproto as it would in mime/multipart.
	tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(block)))
	h, err := tr.ReadMIMEHeader()
	switch {
	case err == nil:
	case end < 0 && mr.err != nil && mr.err != io.EOF:
		return nil, mr.err // the body's own error (a MaxBytesError, a reset connection)
	case err == io.EOF:
		// As mime/multipart: a body that ends in a header block, before its empty line, ends
		// the form.
		return nil, io.EOF
	default:
		return nil, fmt.Errorf("formparts: part header: %w", err)
	}
	mr.r += len(block)
	p := &Part{Header: h, mr: mr}
	p.reader = partReader{p}
	const cte = "Content-Transfer-Encoding"
	if strings.EqualFold(h.Get(cte), "quoted-printable") {
		h.Del(cte)
		p.reader = quotedprintable.NewReader(p.reader)
	}
	return p, nil
}

// headerScan finds the end of the header block at the start of a buffer that grows between
// calls, scanning each byte once (a block may trickle in a byte at a time). The block ends at the
// first line that is only "\r\n" or "\n": textproto's continuation lines start with a space or a
// tab, never empty.
type headerScan struct {
	line int // the start of the first line not known to be a header line
	seen int // bytes from line on known to hold no "\n"
}

// end is the length of the block, its empty line included, or -1 if b does not hold all of it.
func (h *headerScan) end(b []byte) int {
	for {
		rest := b[h.line:]
		switch {
		case len(rest) > 0 && rest[0] == '\n':
			return h.line + 1
		case len(rest) > 1 && rest[0] == '\r' && rest[1] == '\n':
			return h.line + 2
		}
		i := bytes.IndexByte(b[h.line+h.seen:], '\n')
		if i < 0 {
			h.seen = len(rest)
			return -1
		}
		h.line += h.seen + i + 1
		h.seen = 0
	}
}

// A Part is one part of the body. Its Read returns the part's bytes, then io.EOF at the
// boundary that ends it.
type Part struct {
	// Header is the part's header, keys canonical as in net/http.
	Header textproto.MIMEHeader

	mr     *Reader
	reader io.Reader // partReader, or a quoted-printable decoder over it

	disposition       string
	dispositionParams map[string]string

	n       int   // bytes of the part waiting in the buffer, known to be before the boundary
	total   int64 // bytes read from the part so far
	err     error // to return once the n bytes are read: io.EOF at the boundary
	readErr error // the error of the body seen while reading this part
}

// FormName is the name parameter of the part's Content-Disposition if it is form-data, else "".
func (p *Part) FormName() string {
	p.parseContentDisposition()
	if p.disposition != "form-data" {
		return ""
	}
	return p.dispositionParams["name"]
}

// FileName is the filename parameter of the part's Content-Disposition, passed through
// filepath.Base (RFC 7578 §4.2: a path in it must not be used), or "".
func (p *Part) FileName() string {
	p.parseContentDisposition()
	filename := p.dispositionParams["filename"]
	if filename == "" {
		return ""
	}
	return filepath.Base(filename)
}

func (p *Part) parseContentDisposition() {
	if p.dispositionParams != nil {
		return
	}
	var err error
	p.disposition, p.dispositionParams, err = mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		p.dispositionParams = map[string]string{}
	}
}

// Read reads the part's bytes: as many as d holds and the buffer has, up to the boundary.
func (p *Part) Read(d []byte) (int, error) { return p.reader.Read(d) }

// partReader reads the part's raw bytes, before any Content-Transfer-Encoding is decoded.
type partReader struct{ p *Part }

func (pr partReader) Read(d []byte) (int, error) {
	p := pr.p
	if n, err, ok := p.readDirect(d); ok {
		return n, err
	}
	if err := p.scan(); p.n == 0 {
		return 0, err
	}
	n := copy(d, p.mr.buf[p.mr.r:p.mr.r+min(len(d), p.n)])
	p.consume(n)
	if p.n == 0 {
		return n, p.err
	}
	return n, nil
}

// directMin is the smallest Read that reads the body straight into the caller's buffer: the S3
// store fills 8 MiB parts, each byte then is copied once from the socket rather than twice.
const directMin = 64 << 10

// readDirect reads the body into d rather than the Reader's buffer when d is large and the
// buffer holds no more than the few bytes that may begin a boundary: those go first in d, the
// body's next bytes after them, and what of it is not the part's (the boundary and beyond, or
// what may be a boundary) goes back into the buffer. ok is false when it does not apply.
func (p *Part) readDirect(d []byte) (n int, err error, ok bool) {
	mr := p.mr
	if p.n != 0 || p.err != nil || mr.err != nil || len(d) < directMin || mr.w-mr.r > len(mr.nlDashBoundary)+2 {
		return 0, nil, false
	}
	d = d[:min(len(d), len(mr.buf))] // what goes back must fit in the buffer
	t := copy(d, mr.buf[mr.r:mr.w])
	mr.r, mr.w = 0, 0
	k, err := readSome(mr.src, d[t:])
	if err != nil {
		mr.err = err
		p.readErr = inPart(err)
	}
	n, p.err = mr.scanUntilBoundary(d[:t+k], p.total, p.readErr)
	mr.w = copy(mr.buf, d[n:t+k])
	p.total += int64(n)
	if n == 0 && p.err == nil {
		return 0, nil, false // all of it may be a boundary: read on through the buffer
	}
	return n, p.err, true
}

// scan finds how many buffered bytes belong to the part (p.n), reading more of the body while
// that cannot be told yet; it returns the error that follows them.
func (p *Part) scan() error {
	mr := p.mr
	for p.n == 0 && p.err == nil {
		p.n, p.err = mr.scanUntilBoundary(mr.buf[mr.r:mr.w], p.total, p.readErr)
		if p.n == 0 && p.err == nil {
			p.readErr = inPart(mr.fill())
		}
	}
	return p.err
}

// inPart is err of the body met inside a part: its end there is io.ErrUnexpectedEOF, as a
// part ends only at a boundary.
func inPart(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (p *Part) consume(n int) {
	p.mr.r += n
	p.total += int64(n)
	p.n -= n
}

// skip drops the rest of the part, without copying it.
func (p *Part) skip() {
	for {
		p.scan()
		if p.n == 0 {
			return
		}
		p.consume(p.n)
	}
}

// WriteTo writes the rest of the part's raw bytes to w straight from the buffer (io.Copy uses
// it), unless the part is quoted-printable.
func (p *Part) WriteTo(w io.Writer) (int64, error) {
	if _, raw := p.reader.(partReader); !raw {
		return io.Copy(w, struct{ io.Reader }{p.reader})
	}
	var total int64
	for {
		err := p.scan()
		if p.n == 0 {
			if err == io.EOF {
				err = nil
			}
			return total, err
		}
		n, werr := w.Write(p.mr.buf[p.mr.r : p.mr.r+p.n])
		p.consume(n)
		total += int64(n)
		if werr != nil {
			return total, werr
		}
	}
}

// scanUntilBoundary returns how many bytes of buf can be returned as the part's (before a
// possible boundary) and the error to return after them: io.EOF at the boundary, readErr when
// the body ended or failed before one. It is mime/multipart's function of the same name, with
// the search for the boundary done by index: total is the bytes of the part read so far (at 0 a
// "--boundary" without the line break before it counts), readErr the error that followed the
// bytes of buf.
func (mr *Reader) scanUntilBoundary(buf []byte, total int64, readErr error) (int, error) {
	dashBoundary, nlDashBoundary := mr.dashBoundary, mr.nlDashBoundary
	if total == 0 {
		if bytes.HasPrefix(buf, dashBoundary) {
			switch matchAfterPrefix(buf, dashBoundary, readErr) {
			case -1:
				return len(dashBoundary), nil
			case 0:
				return 0, nil
			case +1:
				return 0, io.EOF
			}
		}
		if bytes.HasPrefix(dashBoundary, buf) {
			return 0, readErr
		}
	}
	if i := mr.index(buf); i >= 0 {
		switch matchAfterPrefix(buf[i:], nlDashBoundary, readErr) {
		case -1:
			return i + len(nlDashBoundary), nil
		case 0:
			return i, nil
		case +1:
			return i, io.EOF
		}
	}
	if bytes.HasPrefix(nlDashBoundary, buf) {
		return 0, readErr
	}
	// Everything before the last line break is the part's; from it on too, unless it may be
	// the start of the boundary.
	if i := bytes.LastIndexByte(buf, nlDashBoundary[0]); i >= 0 && bytes.HasPrefix(nlDashBoundary, buf[i:]) {
		return i, nil
	}
	return len(buf), readErr
}

// index is bytes.Index(b, mr.nlDashBoundary), by Boyer-Moore-Horspool. bytes.Index looks for a
// separator longer than 63 bytes (a browser's boundary line is ~45-70) with IndexByte of its
// first byte, "\r": in a video that is a call every ~256 bytes, 7 % of the server's CPU during
// an upload. Horspool looks at one byte in ~60 there. Its worst case (a body built to nearly
// match the boundary everywhere) is quadratic, so after len(b)/4 bytes of failed comparisons it
// hands the rest to bytes.Index, which is linear.
func (mr *Reader) index(b []byte) int {
	sep := mr.nlDashBoundary
	m := len(sep)
	if len(b) < 256 || m < 8 {
		return bytes.Index(b, sep)
	}
	if mr.skipLen != m {
		for c := range mr.skip {
			mr.skip[c] = uint8(m)
		}
		for i, c := range sep[:m-1] {
			mr.skip[c] = uint8(m - 1 - i)
		}
		mr.skipLen = m
	}
	last := sep[m-1]
	budget := len(b) / 4
	for i := 0; i+m <= len(b); {
		c := b[i+m-1]
		if c == last {
			if bytes.Equal(b[i:i+m-1], sep[:m-1]) {
				return i
			}
			if budget -= m; budget < 0 {
				if j := bytes.Index(b[i+1:], sep); j >= 0 {
					return i + 1 + j
				}
				return -1
			}
		}
		i += int(mr.skip[c])
	}
	return -1
}

// matchAfterPrefix tells whether buf, which starts with the boundary prefix, is a boundary (+1:
// the prefix is followed by "--", a space, a tab, "\r", "\n" or the end of the body), is not
// (-1: "--foobar" is not "--foo"), or cannot be told before more is read (0).
func matchAfterPrefix(buf, prefix []byte, readErr error) int {
	if len(buf) == len(prefix) {
		if readErr != nil {
			return +1
		}
		return 0
	}
	switch c := buf[len(prefix)]; c {
	case ' ', '\t', '\r', '\n':
		return +1
	case '-':
		if len(buf) == len(prefix)+1 {
			if readErr != nil {
				return -1
			}
			return 0
		}
		if buf[len(prefix)+1] == '-' {
			return +1
		}
	}
	return -1
}
