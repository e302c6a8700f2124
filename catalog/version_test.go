package catalog

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in, canon string
	}{
		{"27.1.4", "27.1.4"},
		{"v28.0.1", "28.0.1"},
		{"V1", "1"},
		{"6.3", "6.3"},
		{"2023.10", "2023.10"},
		{"24.04", "24.4"},
		{"28.0.0-rc1", "28.0.0-rc1"},
		{"28.0.0-RC.2", "28.0.0-rc2"},
		{"3.12.0b1", "3.12.0-beta1"},
		{"1.0-alpha", "1.0-alpha"},
		{"1.0.0-beta-3", "1.0.0-beta3"},
		{"2.0.0~dev", "2.0.0-dev"},
		{"1.2.3+build.5", "1.2.3"},
		{" 1.2 ", "1.2"},
		{"1.2.3.4", "1.2.3.4"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := ParseVersion(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.String(); got != tt.canon {
				t.Errorf("String() = %q, want %q", got, tt.canon)
			}
		})
	}
}

func TestParseVersionRejects(t *testing.T) {
	for _, in := range []string{"", "v", "latest", "1.", "1..2", ".1", "1.2.3.4.5", "1.2-", "1.2-foo",
		"1.2-rc1x", "1234567890.1", "1.0-rc1234567890", "28.0.0 rc1", "1,2", "-1", "1.2.3-rc.1.2"} {
		t.Run(in, func(t *testing.T) {
			if v, err := ParseVersion(in); err == nil {
				t.Fatalf("ParseVersion(%q) = %v, want an error", in, v)
			}
		})
	}
}

func TestVersionOrder(t *testing.T) {
	// Each line is strictly older than the next.
	ordered := []string{
		"0.9", "1.0.0-dev", "1.0.0-alpha", "1.0.0-alpha.2", "1.0.0-beta", "1.0.0-b2", "1.0.0-rc1", "1.0.0-rc.10",
		"1.0.0", "1.0.1", "1.2", "1.10", "6.3", "6.3.1", "24.04", "24.10", "27.1.4", "28.0.0-rc1", "28.0.0",
		"28.0.1", "v28.0.2", "2023.10", "2024.4", "2024.04.1",
	}
	for i := range ordered {
		for j := range ordered {
			c, err := CompareVersions(ordered[i], ordered[j])
			if err != nil {
				t.Fatal(err)
			}
			want := cmpInt(int64(i), int64(j))
			if c != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", ordered[i], ordered[j], c, want)
			}
			vi, _ := ParseVersion(ordered[i])
			vj, _ := ParseVersion(ordered[j])
			if kc := strings.Compare(vi.Key(), vj.Key()); kc != want {
				t.Errorf("key order of %s (%s) and %s (%s) = %d, want %d", ordered[i], vi.Key(), ordered[j], vj.Key(), kc, want)
			}
		}
	}
}

func TestVersionEquivalents(t *testing.T) {
	for _, pair := range [][2]string{{"6.3", "6.3.0"}, {"v6.3", "6.3.0.0"}, {"1.0-rc", "1.0.0-rc0"}, {"24.04", "24.4"}, {"1.2+x", "1.2"}} {
		a, _ := ParseVersion(pair[0])
		b, _ := ParseVersion(pair[1])
		if a.Compare(b) != 0 || a.Key() != b.Key() {
			t.Errorf("%s and %s should be equal (keys %s, %s)", pair[0], pair[1], a.Key(), b.Key())
		}
	}
}

// randomVersion builds a version string from a small alphabet so that ties and near-ties are common.
func randomVersion(r *rand.Rand) string {
	var b strings.Builder
	if r.IntN(4) == 0 {
		b.WriteByte('v')
	}
	n := 1 + r.IntN(4)
	for i := range n {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString([]string{"0", "1", "2", "10", "24", "2023"}[r.IntN(6)])
	}
	if r.IntN(3) == 0 {
		b.WriteString([]string{"-rc", "-rc1", "-rc.2", "-beta", "b1", "-alpha.3", "-dev"}[r.IntN(7)])
	}
	return b.String()
}

// TestVersionOrderProperties checks that Compare is a total order agreeing with Key on random
// triples: antisymmetric, transitive, and consistent with the SQL key.
func TestVersionOrderProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		s := [3]string{randomVersion(r), randomVersion(r), randomVersion(r)}
		var v [3]Version
		for i := range s {
			var err error
			if v[i], err = ParseVersion(s[i]); err != nil {
				t.Fatalf("ParseVersion(%q): %v", s[i], err)
			}
		}
		checkOrder(t, s, v)
	}
}

func checkOrder(t *testing.T, s [3]string, v [3]Version) {
	t.Helper()
	for i := range 3 {
		if v[i].Compare(v[i]) != 0 {
			t.Fatalf("%s != itself", s[i])
		}
		for j := range 3 {
			c := v[i].Compare(v[j])
			if c != -v[j].Compare(v[i]) {
				t.Fatalf("not antisymmetric: %s vs %s", s[i], s[j])
			}
			if kc := strings.Compare(v[i].Key(), v[j].Key()); kc != c {
				t.Fatalf("key order %d disagrees with Compare %d for %s vs %s", kc, c, s[i], s[j])
			}
			// The canonical form parses back to an equal version.
			back, err := ParseVersion(v[i].String())
			if err != nil || back.Compare(v[i]) != 0 {
				t.Fatalf("String() %q of %s does not round-trip: %v", v[i].String(), s[i], err)
			}
			for k := range 3 {
				if c <= 0 && v[j].Compare(v[k]) <= 0 && v[i].Compare(v[k]) > 0 {
					t.Fatalf("not transitive: %s <= %s <= %s but %s > %s", s[i], s[j], s[k], s[i], s[k])
				}
			}
		}
	}
}

// FuzzVersionOrder feeds arbitrary strings: parsing never panics, and whatever parses obeys the
// ordering properties.
func FuzzVersionOrder(f *testing.F) {
	f.Add("28.0.0-rc1", "v28.0.0", "2023.10")
	f.Add("6.3", "6.3.0", "1.0b2")
	f.Add("24.04", "1.2.3+meta", "1.0.0-alpha.1")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		s := [3]string{a, b, c}
		var v [3]Version
		for i := range s {
			var err error
			if v[i], err = ParseVersion(s[i]); err != nil {
				return
			}
		}
		checkOrder(t, s, v)
	})
}
