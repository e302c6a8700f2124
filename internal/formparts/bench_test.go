package formparts

import (
	"bufio"
	"bytes"
	"io"
	"mime/multipart"
	"testing"
)

// benchForm is a form of one 64 MiB part of random-looking bytes, with the 60-character
// boundary of multipart.Writer.
func benchForm(b *testing.B) ([]byte, string) {
	b.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("source", "rec.mp4")
	data := make([]byte, 64<<20)
	x := uint32(1)
	for i := range data {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		data[i] = byte(x)
	}
	w.Write(data)
	mw.Close()
	return buf.Bytes(), mw.Boundary()
}

// BenchmarkSourcePart reads a large part into 16 MiB buffers, as the S3 store fills its parts:
// formparts against mime/multipart behind the 1 MiB bufio.Reader the upload handler had.
func BenchmarkSourcePart(b *testing.B) {
	form, boundary := benchForm(b)
	part := make([]byte, 16<<20)
	drain := func(b *testing.B, r io.Reader) {
		for {
			_, err := io.ReadFull(r, part)
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("formparts", func(b *testing.B) {
		b.SetBytes(int64(len(form)))
		for b.Loop() {
			p, err := NewReader(bytes.NewReader(form), boundary).NextPart()
			if err != nil {
				b.Fatal(err)
			}
			drain(b, p)
		}
	})
	b.Run("mime-multipart", func(b *testing.B) {
		b.SetBytes(int64(len(form)))
		for b.Loop() {
			p, err := multipart.NewReader(bufio.NewReaderSize(bytes.NewReader(form), 1<<20), boundary).NextPart()
			if err != nil {
				b.Fatal(err)
			}
			drain(b, p)
		}
	})
	b.Run("raw", func(b *testing.B) {
		b.SetBytes(int64(len(form)))
		for b.Loop() {
			drain(b, bytes.NewReader(form))
		}
	})
}
