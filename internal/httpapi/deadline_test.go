package httpapi

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestBodyDeadlines sends bodies byte by byte over a real connection: a route under
// BodyDeadline cuts a body that takes longer than its deadline; an upload route (IdleBody) takes
// the same slow body as long as bytes keep coming, and cuts it at a long pause.
func TestBodyDeadlines(t *testing.T) {
	read := HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "read %d bytes", len(b))
		return nil
	})
	mux := http.NewServeMux()
	mux.Handle("/form", read)
	mux.Handle("/upload", IdleBody(time.Second, read))
	srv := httptest.NewServer(BodyDeadline(300*time.Millisecond, mux))
	defer srv.Close()

	// send writes the body in n one-byte writes, pause apart, with one long pause after the
	// first byte when stall > 0, and returns the status line.
	send := func(path string, n int, pause, stall time.Duration) string {
		t.Helper()
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", path, n)
		go func() {
			for i := range n {
				if _, err := conn.Write([]byte("a")); err != nil {
					return
				}
				if i == 0 && stall > 0 {
					time.Sleep(stall)
				}
				time.Sleep(pause)
			}
		}()
		conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // liveness bound only
		b, _ := io.ReadAll(conn)
		line, _, _ := strings.Cut(string(b), "\r\n")
		return line + " " + string(b[strings.LastIndex(string(b), "\n")+1:])
	}

	// 20 bytes 50 ms apart: about a second, longer than the 300 ms body deadline.
	if got := send("/form", 20, 50*time.Millisecond, 0); !strings.Contains(got, "408") {
		t.Errorf("slow body on a form route: %q, want 408", got)
	}
	if got := send("/upload", 20, 50*time.Millisecond, 0); !strings.Contains(got, "200") || !strings.Contains(got, "read 20 bytes") {
		t.Errorf("slow but steady upload: %q, want 200 with every byte", got)
	}
	if got := send("/upload", 5, 10*time.Millisecond, 3*time.Second); !strings.Contains(got, "408") {
		t.Errorf("upload stalled longer than its idle timeout: %q, want 408", got)
	}
	// A fast body passes, and a reply long after it is read is not cut: the deadline is lifted.
	mux.Handle("/late", HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		io.ReadAll(r.Body)
		time.Sleep(600 * time.Millisecond)
		if err := r.Context().Err(); err != nil {
			return err
		}
		io.WriteString(w, "still here")
		return nil
	}))
	for _, n := range []int{3, 0} {
		if got := send("/late", n, 0, 0); !strings.Contains(got, "200") || !strings.Contains(got, "still here") {
			t.Errorf("reply after a body of %d bytes: %q, want 200 (the request must outlive the body deadline)", n, got)
		}
	}
}
