package formparts

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/textproto"
	"reflect"
	"strings"
	"testing"
)

// parsed is what a reader made of a body: its parts in order, then how it ended.
type parsed struct {
	Parts []parsedPart
	End   string // "EOF" after the last part, or "error"
}

type parsedPart struct {
	Name, File string
	Header     textproto.MIMEHeader
	Data       string
	ReadFailed bool // reading the part's bytes ended in an error other than io.EOF
}

// chunkReader returns src in reads of sizes drawn from rng (1 byte to 64 KiB), so that
// boundaries and header blocks arrive split at every place across a run.
type chunkReader struct {
	src []byte
	rng *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.src) == 0 {
		return 0, io.EOF
	}
	n := 1 + c.rng.IntN(min(len(c.src), len(p), []int{1, 3, 80, 4096, 1 << 16}[c.rng.IntN(5)]))
	n = copy(p, c.src[:n])
	c.src = c.src[n:]
	return n, nil
}

// readSizes are the sizes of the reads of a part's bytes: tiny, mime/multipart's, the buffer's.
var readSizes = []int{1, 5, 512, 4096, 1 << 16, 1 << 20}

// parseStd is parsed by mime/multipart, and the error that ended it.
func parseStd(body []byte, boundary string, rng *rand.Rand) (parsed, error) {
	var out parsed
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			out.End = "EOF"
			return out, nil
		}
		if err != nil {
			out.End = "error"
			return out, err
		}
		pp := parsedPart{Name: p.FormName(), File: p.FileName(), Header: p.Header}
		data, err := readAll(p, readSizes[rng.IntN(len(readSizes))])
		pp.Data, pp.ReadFailed = string(data), err != nil
		out.Parts = append(out.Parts, pp)
	}
}

func parseOurs(body []byte, boundary string, bufSize int, rng *rand.Rand) parsed {
	var out parsed
	mr := newReaderSize(&chunkReader{src: body, rng: rng}, boundary, bufSize)
	mr.maxHeader = 10 << 20 // mime/multipart's limit, to compare the rest
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			out.End = "EOF"
			return out
		}
		if err != nil {
			out.End = "error"
			return out
		}
		pp := parsedPart{Name: p.FormName(), File: p.FileName(), Header: p.Header}
		var data []byte
		switch k := rng.IntN(len(readSizes) + 2); {
		case k == len(readSizes):
			var b bytes.Buffer
			_, err = p.WriteTo(&b)
			data = b.Bytes()
		case k == len(readSizes)+1:
			// Left unread: NextPart skips it. mime/multipart's side reads it, so only this
			// part's bytes are not compared.
			data, err = []byte("(skipped)"), nil
		default:
			data, err = readAll(p, readSizes[k])
		}
		pp.Data, pp.ReadFailed = string(data), err != nil
		out.Parts = append(out.Parts, pp)
	}
}

// readAll reads r to its end in reads of n bytes.
func readAll(r io.Reader, n int) ([]byte, error) {
	var out []byte
	buf := make([]byte, n)
	for {
		k, err := r.Read(buf)
		out = append(out, buf[:k]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// compare fails t unless ours read body as mime/multipart does.
func compare(t *testing.T, body []byte, boundary string, bufSize int, seed uint64) {
	t.Helper()
	if len(boundary) > maxBoundary {
		// Refused here (RFC 2046); mime/multipart reads it, up to its 4 KiB buffer.
		if _, err := newReaderSize(bytes.NewReader(body), boundary, bufSize).NextPart(); err == nil {
			t.Fatalf("a boundary of %d bytes was accepted", len(boundary))
		}
		return
	}
	want, err := parseStd(body, boundary, rand.New(rand.NewPCG(seed, 1)))
	if errors.Is(err, multipart.ErrMessageTooLarge) {
		// mime/multipart refuses more than 10 000 header fields in a part: that limit is
		// MaxHeaderBytes here (lifted to mime/multipart's 10 MiB for the comparison).
		return
	}
	got := parseOurs(body, boundary, bufSize, rand.New(rand.NewPCG(seed, 2)))
	for i := range got.Parts {
		if got.Parts[i].Data == "(skipped)" && i < len(want.Parts) {
			got.Parts[i].Data, got.Parts[i].ReadFailed = want.Parts[i].Data, want.Parts[i].ReadFailed
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("boundary %q, buffer %d, seed %d, body %q:\nmime/multipart %+v\nformparts      %+v", boundary, bufSize, seed, body, want, got)
	}
}

// trickyBodies are the seeds of the fuzz test and the cases of TestSameAsMimeMultipart, all
// with the boundary "b0undary".
var trickyBodies = []string{
	// A browser's form: meta, source, subtitles.
	"--b0undary\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{\"title\":\"x\"}\r\n" +
		"--b0undary\r\nContent-Disposition: form-data; name=\"source\"; filename=\"rec.mp4\"\r\nContent-Type: video/mp4\r\n\r\n" +
		strings.Repeat("video\r\n-", 100) + "\r\n" +
		"--b0undary\r\nContent-Disposition: form-data; name=\"subtitles\"; filename=\"C:\\\\x\\\\fr.srt\"\r\n\r\n1\n00:00:01,000 --> 00:00:02,000\nBonjour\n\r\n" +
		"--b0undary--\r\n",
	// Bare "\n" line breaks throughout.
	"--b0undary\nContent-Disposition: form-data; name=\"a\"\n\nfirst\n--b0undary\nContent-Disposition: form-data; name=\"b\"\n\nsecond\n--b0undary--\n",
	// A bare "\n" before a boundary in a CRLF body is part of the bytes, and the body ends there.
	"--b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\n--b0undary\r\n--b0undary--",
	// Transport padding after boundaries, the final one without its line break.
	"preamble line\r\nand another\r\n--b0undary \t \r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA\r\n--b0undary\t\r\n\r\nno header\r\n--b0undary--  ",
	// Near-boundaries inside a part.
	"--b0undary\r\n\r\n\r\n--b0undaryX\r\n--b0undary-x\r\n--b0undar\r\n--b0undary-\r\n--b0undary\r\n\r\n--b0undary--\r\n epilogue",
	// An empty part whose boundary follows its headers without a line break.
	"--b0undary\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\n--b0undary\r\n\r\nz\r\n--b0undary--\r\n",
	// Quoted-printable.
	"--b0undary\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nh=C3=A9 =\r\nl=C3=A0\r\n--b0undary--\r\n",
	// Folded header lines, mixed line breaks in the header block.
	"--b0undary\r\nContent-Disposition: form-data;\r\n name=\"f\";\n\tfilename=\"a b.txt\"\r\nX-A: 1\nX-A: 2\r\n\n data\r\n--b0undary--\r\n",
	// Malformed: a header block's first line starts with a space; no colon; truncated.
	"--b0undary\r\n bad: x\r\n\r\ny\r\n--b0undary--\r\n",
	"--b0undary\r\nno colon here\r\n\r\ny\r\n--b0undary--\r\n",
	"--b0undary\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\ntruncated after the bytes",
	"--b0undary\r\nContent-Disposition: form-data; name=\"t\"\r\n",
	"--b0undary\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nx\r\n--b0undary\r\n",
	// Junk between parts, junk after a boundary.
	"--b0undary\r\n\r\nx\r\n--b0undary\r\n\r\ny\r\njunk\r\n--b0undary--\r\n",
	"--b0undary\r\n\r\nx\r\n--b0undary junk\r\n\r\ny\r\n--b0undary--\r\n",
	"--b0undary\r\n\r\nx\r\n\r\n--b0undary--\r\n",
	// A preamble line of more than 4 KiB.
	strings.Repeat("p", 5000) + "\r\n--b0undary\r\n\r\nx\r\n--b0undary--\r\n",
	strings.Repeat("p", 4094) + "\r\n--b0undary\r\n\r\nx\r\n--b0undary--\r\n",
	// "\r\r\n" in a header block; empty; only the end.
	"--b0undary\r\nA: b\r\r\n\r\nx\r\n--b0undary--\r\n",
	"",
	"--b0undary--",
	"--b0undary--\r\n",
	"\r\n--b0undary--\r\n",
}

func TestSameAsMimeMultipart(t *testing.T) {
	for i, body := range trickyBodies {
		for _, bufSize := range []int{1, 37, 100, 4096, BufferSize} {
			for seed := range uint64(20) {
				compare(t, []byte(body), "b0undary", bufSize, seed+uint64(i)*100)
			}
		}
	}
}

func FuzzSameAsMimeMultipart(f *testing.F) {
	for _, b := range trickyBodies {
		f.Add([]byte(b), "b0undary", uint16(4096), uint64(1))
		f.Add([]byte(b), "b0undary", uint16(80), uint64(2))
	}
	f.Add([]byte("--\r\n\r\nx\r\n----\r\n"), "", uint16(100), uint64(3))
	f.Add([]byte("--a\r\n\r\n\r\n--a\r\n\r\n\r\n--a--"), "a", uint16(1), uint64(4))
	f.Fuzz(func(t *testing.T, body []byte, boundary string, bufSize uint16, seed uint64) {
		compare(t, body, boundary, int(bufSize), seed)
	})
}

func TestPartsStreamInLargeChunks(t *testing.T) {
	const size = 64 << 20 // 64 MiB through a 1 MiB buffer
	pattern := bytes.Repeat([]byte("0123456789abcdef\r\n--b0undar"), 1<<10)
	head := "--b0undary\r\nContent-Disposition: form-data; name=\"source\"; filename=\"rec.mp4\"\r\n\r\n"
	tail := "\r\n--b0undary--\r\n"
	body := io.MultiReader(strings.NewReader(head), io.LimitReader(&repeatReader{pattern: pattern}, size), strings.NewReader(tail))
	mr := NewReader(body, "b0undary")
	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	want, got := sha256.New(), sha256.New()
	io.Copy(want, io.LimitReader(&repeatReader{pattern: pattern}, size))
	var n int64
	largest := 0
	buf := make([]byte, 8<<20)
	for {
		k, err := p.Read(buf)
		got.Write(buf[:k])
		n += int64(k)
		largest = max(largest, k)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("read %d bytes, want %d, same: %v", n, size, bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}
	if len(mr.buf) != BufferSize {
		t.Errorf("the buffer grew to %d bytes", len(mr.buf))
	}
	if largest <= 64<<10 {
		t.Errorf("the largest Read returned %d bytes, want chunks of the buffer's size", largest)
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("after the part: %v, want io.EOF", err)
	}
}

// repeatReader repeats pattern without end.
type repeatReader struct {
	pattern []byte
	off     int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.pattern[r.off:])
		n += k
		r.off = (r.off + k) % len(r.pattern)
	}
	return n, nil
}

func TestLimits(t *testing.T) {
	for _, tc := range []struct {
		name, boundary, body string
		want                 error // nil: any error
	}{
		{"boundary over 70 bytes", strings.Repeat("b", 71), "--" + strings.Repeat("b", 71) + "\r\n\r\nx\r\n", nil},
		{"empty boundary", "", "--\r\n\r\nx\r\n----\r\n", nil},
		{"header block over MaxHeaderBytes", "b", "--b\r\nX-Big: " + strings.Repeat("x", MaxHeaderBytes) + "\r\n\r\nx\r\n--b--\r\n", ErrMessageTooLarge},
		{"header block never ends", "b", "--b\r\n" + strings.Repeat("X-A: 1\r\n", MaxHeaderBytes), ErrMessageTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mr := NewReader(strings.NewReader(tc.body), tc.boundary)
			_, err := mr.NextPart()
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("NextPart: %v, want %v", err, tc.want)
			}
			if len(mr.buf) > BufferSize {
				t.Errorf("the buffer grew to %d bytes", len(mr.buf))
			}
		})
	}
	// Just under the limit is read.
	body := "--b\r\nX-Big: " + strings.Repeat("x", MaxHeaderBytes-20) + "\r\n\r\nx\r\n--b--\r\n"
	p, err := NewReader(strings.NewReader(body), "b").NextPart()
	if err != nil || len(p.Header.Get("X-Big")) != MaxHeaderBytes-20 {
		t.Fatalf("a header block of %d bytes: %v", MaxHeaderBytes-7, err)
	}
}

// The body's own error (http.MaxBytesReader's, a reset connection) comes out of Read and
// NextPart as is, so that callers can tell it from a malformed form.
func TestBodyErrorsPassThrough(t *testing.T) {
	errBody := errors.New("body failed")
	for _, tc := range []struct{ name, body string }{
		{"in a part", "--b\r\n\r\nsome bytes"},
		{"in a header block", "--b\r\nContent-Disp"},
		{"in the preamble", "pre"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mr := NewReader(io.MultiReader(strings.NewReader(tc.body), errReader{errBody}), "b")
			p, err := mr.NextPart()
			if err == nil {
				_, err = io.ReadAll(p)
			}
			if !errors.Is(err, errBody) {
				t.Fatalf("got %v, want %v", err, errBody)
			}
		})
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestFormNameAndFileName(t *testing.T) {
	body := "--b\r\nContent-Disposition: form-data; name=\"source\"; filename=\"../../etc/rec.mp4\"\r\n\r\nx\r\n" +
		"--b\r\nContent-Disposition: attachment; name=\"x\"\r\n\r\ny\r\n--b\r\nContent-Disposition: form-data; name\r\n\r\nz\r\n--b--"
	mr := NewReader(strings.NewReader(body), "b")
	for _, want := range []struct{ name, file string }{{"source", "rec.mp4"}, {"", ""}, {"", ""}} {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		if p.FormName() != want.name || p.FileName() != want.file {
			t.Errorf("%v: FormName %q FileName %q, want %q %q", p.Header, p.FormName(), p.FileName(), want.name, want.file)
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

func ExampleReader() {
	body := "--b\r\nContent-Disposition: form-data; name=\"meta\"\r\n\r\n{}\r\n--b--\r\n"
	mr := NewReader(strings.NewReader(body), "b")
	for {
		p, err := mr.NextPart()
		if err != nil {
			fmt.Println(err)
			return
		}
		data, _ := io.ReadAll(p)
		fmt.Printf("%s: %s\n", p.FormName(), data)
	}
	// Output:
	// meta: {}
	// EOF
}

// FuzzIndex holds Reader.index (Horspool, with its fallback) to bytes.Index.
func FuzzIndex(f *testing.F) {
	f.Add([]byte(strings.Repeat("\r\n--b0undary-", 40)+"\r\n--b0undary"), "b0undary", uint16(0))
	f.Add([]byte(strings.Repeat("x", 300)+"\r\n--abc"), "abc", uint16(7))
	f.Add(bytes.Repeat([]byte("\r\n--aaaaaaaaaaaaaab"), 50), "aaaaaaaaaaaaaaa", uint16(3))
	f.Fuzz(func(t *testing.T, b []byte, boundary string, reps uint16) {
		if len(boundary) == 0 || len(boundary) > maxBoundary {
			return
		}
		b = bytes.Repeat(b, 1+int(reps%64))
		mr := NewReader(nil, boundary)
		for _, lf := range []bool{false, true} {
			if lf {
				mr.nlDashBoundary = mr.nlDashBoundary[1:]
			}
			if got, want := mr.index(b), bytes.Index(b, mr.nlDashBoundary); got != want {
				t.Fatalf("index %d, bytes.Index %d (separator %q)", got, want, mr.nlDashBoundary)
			}
		}
	})
}
