package pipeline

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxTimecode bounds parsed timecodes: no workshop lasts 100 hours, and the bound keeps the
// arithmetic far from overflow.
const maxTimecode = 100 * time.Hour

// ParseTimecode reads a point in a recording: "HH:MM:SS(.fff)", "MM:SS(.fff)" or plain seconds
// "SSSS(.fff)", with up to 9 fractional digits. Minutes and seconds are below 60 when a larger
// unit precedes them. Negative times are refused.
func ParseTimecode(s string) (time.Duration, error) {
	bad := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("bad timecode %q: %s; use HH:MM:SS(.mmm), MM:SS(.mmm) or seconds", s, why)
	}
	if s == "" {
		return bad("empty")
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return bad("too many ':'")
	}
	// The last part holds seconds and an optional fraction.
	last := parts[len(parts)-1]
	whole, frac, hasFrac := strings.Cut(last, ".")
	if hasFrac && (frac == "" || len(frac) > 9 || !digits(frac)) {
		return bad("the fraction of a second must be 1 to 9 digits")
	}
	if whole == "" || !digits(whole) || len(whole) > 7 {
		return bad("seconds must be digits")
	}
	sec, _ := strconv.ParseInt(whole, 10, 64)
	var d time.Duration
	if len(parts) > 1 {
		if len(whole) != 2 || sec >= 60 {
			return bad("seconds after ':' must be two digits below 60")
		}
		min := parts[len(parts)-2]
		if min == "" || !digits(min) || len(min) > 4 {
			return bad("minutes must be digits")
		}
		m, _ := strconv.ParseInt(min, 10, 64)
		if len(parts) == 3 {
			if len(min) != 2 || m >= 60 {
				return bad("minutes after ':' must be two digits below 60")
			}
			hr := parts[0]
			if hr == "" || !digits(hr) || len(hr) > 3 {
				return bad("hours must be 1 to 3 digits")
			}
			h, _ := strconv.ParseInt(hr, 10, 64)
			d += time.Duration(h) * time.Hour
		}
		d += time.Duration(m) * time.Minute
	}
	d += time.Duration(sec) * time.Second
	if hasFrac {
		ns, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		d += time.Duration(ns)
	}
	if d > maxTimecode {
		return bad("longer than 100 hours")
	}
	return d, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// FormatTimecode writes d as "HH:MM:SS" or "HH:MM:SS.mmm" when it has milliseconds; it is the
// form used in messages and in the API's answers.
func FormatTimecode(d time.Duration) string {
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	ms := (d + time.Millisecond/2) / time.Millisecond
	h := ms / 3_600_000
	m := ms / 60_000 % 60
	s := ms / 1000 % 60
	f := ms % 1000
	if f == 0 {
		return fmt.Sprintf("%s%02d:%02d:%02d", neg, h, m, s)
	}
	return fmt.Sprintf("%s%02d:%02d:%02d.%03d", neg, h, m, s, f)
}
