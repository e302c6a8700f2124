package sqldb

import (
	"fmt"
	"strings"
	"time"
)

// TimeFormat is how every stored timestamp is written, in every component's tables: UTC with
// microseconds, fixed width, so that text order is time order (ORDER BY, MAX(), comparisons with
// a formatted parameter). A variable-width format such as RFC 3339 with trimmed fractions sorts
// "…:05Z" after "…:05.5Z"; a mix of widths sorts arbitrarily.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// FormatTime writes t in TimeFormat.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ParseTime reads a stored timestamp: TimeFormat, or RFC 3339 for a value written by hand
// (tests, manual fixes). "" is the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(TimeFormat, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return time.Time{}, fmt.Errorf("sqldb: timestamp %q: %w", s, err)
		}
	}
	return t.UTC(), nil
}

// NormalizeTimes is the migration step that rewrites, in place, the timestamps of columns of
// table written in an older UTC format into TimeFormat: fixed-width milliseconds
// ("2006-01-02T15:04:05.000Z"), RFC 3339 with any fraction or none ("…T15:04:05.5Z"), and Go's
// time.Time text as the SQLite driver stores a bound time.Time ("2006-01-02 15:04:05.5 +0000
// UTC"). Values already in TimeFormat come out unchanged; NULL and "" stay. Every writer of those
// formats wrote UTC, so the offset is not read; the fraction is cut or padded to 6 digits.
func NormalizeTimes(table string, columns ...string) string {
	sets := make([]string, len(columns))
	for i, c := range columns {
		// The fraction: the digits after "." at index 20, up to "Z" or " ".
		rest := "substr(" + c + ", 21)"
		frac := "CASE WHEN substr(" + c + ", 20, 1) = '.' THEN substr(" + rest + ", 1, min(instr(" + rest + " || 'Z', 'Z'), instr(" +
			rest + " || ' ', ' ')) - 1) ELSE '' END"
		sets[i] = c + " = CASE WHEN " + c + " IS NULL OR " + c + " = '' THEN " + c + " ELSE substr(" + c + ", 1, 10) || 'T' || substr(" +
			c + ", 12, 8) || '.' || substr(" + frac + " || '000000', 1, 6) || 'Z' END"
	}
	return "UPDATE " + table + " SET " + strings.Join(sets, ", ")
}
