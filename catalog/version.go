package catalog

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a parsed software version. It understands the schemes real projects use:
//
//   - semver and its shorter forms: 27.1.4, 6.3, 7 (a missing component counts as 0: 6.3 == 6.3.0)
//   - a "v" prefix: v28.0.1
//   - calendar versions: 2023.10, 24.04, 2024.1.2 (they are numbers like any other)
//   - pre-releases: 28.0.0-rc1, 28.0.0-beta.2, 3.12.0b1, 1.0-alpha; dev < alpha < beta < rc < release
//   - build metadata after "+" is ignored: 1.2.3+build.5 == 1.2.3
//
// At most 4 numeric components of at most 9 digits each; anything else is unparseable.
type Version struct {
	nums   [maxComponents]int64
	n      int   // components written
	pre    int   // pre-release rank: preNone for a release
	preNum int64 // number after the pre-release label (rc2 -> 2)
}

const (
	maxComponents = 4
	maxDigits     = 9
)

// Pre-release ranks, ordered.
const (
	preDev = iota + 1
	preAlpha
	preBeta
	preRC
	preNone // a release sorts after all its pre-releases
)

var preLabels = map[string]int{
	"dev": preDev, "snapshot": preDev, "nightly": preDev,
	"alpha": preAlpha, "a": preAlpha,
	"beta": preBeta, "b": preBeta,
	"rc": preRC, "c": preRC, "pre": preRC, "preview": preRC, "cr": preRC,
}

var preNames = map[int]string{preDev: "dev", preAlpha: "alpha", preBeta: "beta", preRC: "rc"}

// ParseVersion parses s, or returns an error saying what is wrong with it.
func ParseVersion(s string) (Version, error) {
	var v Version
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return v, fmt.Errorf("empty version")
	}
	if s[0] == 'v' || s[0] == 'V' {
		s = s[1:]
	}
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	// Numeric components.
	i := 0
	for {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i {
			return v, fmt.Errorf("version %q: expected a number at %q", orig, s[i:])
		}
		if j-i > maxDigits {
			return v, fmt.Errorf("version %q: component %q has more than %d digits", orig, s[i:j], maxDigits)
		}
		if v.n == maxComponents {
			return v, fmt.Errorf("version %q: more than %d numeric components", orig, maxComponents)
		}
		n, _ := strconv.ParseInt(s[i:j], 10, 64)
		v.nums[v.n] = n
		v.n++
		i = j
		// Another numeric component follows a dot and a digit.
		if i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
			i++
			continue
		}
		break
	}
	v.pre = preNone
	rest := s[i:]
	if rest == "" {
		return v, nil
	}
	// Pre-release: an optional separator, a known label, an optional separator and number.
	if c := rest[0]; c == '-' || c == '.' || c == '_' || c == '~' {
		rest = rest[1:]
	}
	k := 0
	for k < len(rest) && isLetter(rest[k]) {
		k++
	}
	label := strings.ToLower(rest[:k])
	rank, ok := preLabels[label]
	if !ok {
		if label == "" {
			return v, fmt.Errorf("version %q: unexpected %q after the numbers", orig, s[i:])
		}
		return v, fmt.Errorf("version %q: unknown pre-release label %q (use alpha, beta, rc or dev)", orig, rest[:k])
	}
	v.pre = rank
	rest = rest[k:]
	if rest == "" {
		return v, nil
	}
	if c := rest[0]; c == '-' || c == '.' || c == '_' {
		rest = rest[1:]
	}
	if rest == "" || len(rest) > maxDigits {
		return v, fmt.Errorf("version %q: expected a pre-release number of at most %d digits after %q", orig, maxDigits, label)
	}
	for k := 0; k < len(rest); k++ {
		if rest[k] < '0' || rest[k] > '9' {
			return v, fmt.Errorf("version %q: unexpected %q in the pre-release", orig, rest)
		}
	}
	v.preNum, _ = strconv.ParseInt(rest, 10, 64)
	return v, nil
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// Compare returns -1, 0 or +1 as v is older than, the same as or newer than w.
func (v Version) Compare(w Version) int {
	for i := range maxComponents {
		if c := cmpInt(v.nums[i], w.nums[i]); c != 0 {
			return c
		}
	}
	if c := cmpInt(int64(v.pre), int64(w.pre)); c != 0 {
		return c
	}
	return cmpInt(v.preNum, w.preNum)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// CompareVersions parses and compares two version strings.
func CompareVersions(a, b string) (int, error) {
	va, err := ParseVersion(a)
	if err != nil {
		return 0, err
	}
	vb, err := ParseVersion(b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

// Key is a string whose byte order is the version order, stored next to every version so that
// SQL compares versions with plain < and >: four zero-padded components, then "~" for a release
// or "-" + rank + zero-padded number for a pre-release ("-" sorts before "~").
// Equal versions (6.3 and v6.3.0) have equal keys.
func (v Version) Key() string {
	var b strings.Builder
	b.Grow(maxComponents*(maxDigits+1) + 2 + maxDigits)
	for i := range maxComponents {
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprintf(&b, "%0*d", maxDigits, v.nums[i])
	}
	if v.pre == preNone {
		b.WriteByte('~')
		return b.String()
	}
	fmt.Fprintf(&b, "-%d%0*d", v.pre, maxDigits, v.preNum)
	return b.String()
}

// Major is the first component. A release whose major differs from every earlier release's is a
// "new major version" — for semver 28.0.0 after 27.x, and for calendar versions a new first
// component (2024.04 after 2023.10; 24.10 after 24.04 is not one).
func (v Version) Major() int64 { return v.nums[0] }

// MajorOnly reports whether every component after the first is zero (28, 28.0, 28.0.0).
func (v Version) MajorOnly() bool {
	for _, n := range v.nums[1:] {
		if n != 0 {
			return false
		}
	}
	return true
}

// PreRelease reports whether v is a pre-release (rc, beta, alpha, dev).
func (v Version) PreRelease() bool { return v.pre != preNone }

// String is the canonical form: the components written (at least as many as parsed) and the
// pre-release, e.g. "28.0.0-rc1".
func (v Version) String() string {
	var b strings.Builder
	for i := range max(v.n, 1) {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatInt(v.nums[i], 10))
	}
	if v.pre != preNone {
		b.WriteByte('-')
		b.WriteString(preNames[v.pre])
		if v.preNum != 0 {
			b.WriteString(strconv.FormatInt(v.preNum, 10))
		}
	}
	return b.String()
}
