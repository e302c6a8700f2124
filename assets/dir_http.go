package assets

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ServeHTTP serves the links made by URL. It expects the whole request path,
// /media/{key}: mount it with mux.Handle("/media/", d) (gorilla:
// PathPrefix("/media/").Handler(d)), not behind http.StripPrefix.
//
// A missing, malformed, tampered or expired signature gets 403, a missing
// object 404. Range and conditional requests are handled by
// http.ServeContent; the ETag is the object's SHA-256.
func (d *Dir) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	key, ok := strings.CutPrefix(r.URL.Path, "/media/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil || !d.validSig(key, exp, q.Get("sig")) {
		http.Error(w, "invalid signature", http.StatusForbidden)
		return
	}
	left := time.Until(time.Unix(exp, 0))
	if left < 0 {
		http.Error(w, "link expired", http.StatusForbidden)
		return
	}
	if ValidKey(key) != nil {
		http.NotFound(w, r)
		return
	}
	f, info, err := d.openFile(key)
	if errors.Is(err, ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, "cannot read object", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", info.ContentType)
	h.Set("ETag", `"`+info.SHA256+`"`)
	h.Set("Cache-Control", "private, max-age="+strconv.FormatInt(int64(left/time.Second), 10))
	h.Set("X-Content-Type-Options", "nosniff")
	// The objects share the app's origin: never let one run as a page.
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", info.ModTime, f)
}

func (d *Dir) validSig(key string, exp int64, sig string) bool {
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	want, _ := hex.DecodeString(d.sign(key, exp))
	return hmac.Equal(got, want)
}
