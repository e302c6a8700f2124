package assets

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestValidKey(t *testing.T) {
	for _, key := range []string{
		"a", "videos/42/original.mp4", "a.b", "a..b", "x/..a", "a/..b/c", "a/.hidden",
		"with space/ü+#?&=%.vtt", "-x", "_y", strings.Repeat("k", MaxKeyLen),
	} {
		if err := ValidKey(key); err != nil {
			t.Errorf("ValidKey(%q) = %v, want nil", key, err)
		}
	}
	for _, key := range invalidKeys {
		err := ValidKey(key)
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidKey(%q) = %v, want ErrInvalidKey", key, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "assets: invalid key") || len(err.Error()) > 200 {
			t.Errorf("ValidKey(%q): message %q", key, err)
		}
	}
}

func FuzzValidKey(f *testing.F) {
	for _, k := range invalidKeys {
		f.Add(k)
	}
	for _, k := range []string{"a", "a/b/c.mp4", "a..b", "x/.y", "a/b/"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := ValidKey(key)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("ValidKey(%q) = %v, not ErrInvalidKey", key, err)
			}
			return
		}
		// What an accepted key guarantees to the backends.
		switch {
		case len(key) == 0 || len(key) > MaxKeyLen:
			t.Fatalf("accepted %d bytes", len(key))
		case !utf8.ValidString(key):
			t.Fatalf("accepted invalid UTF-8 %q", key)
		case path.Clean(key) != key || !filepath.IsLocal(key):
			t.Fatalf("accepted non-canonical or escaping %q", key)
		case strings.HasPrefix(key, "."):
			t.Fatalf("accepted reserved %q", key)
		case strings.ContainsAny(key, "\\\x00"):
			t.Fatalf("accepted %q", key)
		case strings.IndexFunc(key, unicode.IsControl) >= 0:
			t.Fatalf("accepted control character in %q", key)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("accepted segment %q in %q", seg, key)
			}
		}
	})
}

func TestSpan(t *testing.T) {
	for _, tc := range []struct {
		rng       *Range
		size      int64
		off, n    int64
		wantError bool
	}{
		{nil, 10, 0, 10, false},
		{&Range{0, -1}, 10, 0, 10, false},
		{&Range{3, 4}, 10, 3, 4, false},
		{&Range{3, 100}, 10, 3, 7, false},
		{&Range{10, -1}, 10, 10, 0, false},
		{&Range{0, 0}, 0, 0, 0, false},
		{&Range{11, -1}, 10, 0, 0, true},
		{&Range{-1, 1}, 10, 0, 0, true},
	} {
		off, n, err := span(tc.rng, tc.size)
		if (err != nil) != tc.wantError || off != tc.off || n != tc.n {
			t.Errorf("span(%+v, %d) = %d, %d, %v", tc.rng, tc.size, off, n, err)
		}
	}
}
