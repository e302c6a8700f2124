package media

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Variant is one HLS rendition, as listed in the master playlist. Render
// writes them to hls/variants.json so the master can be regenerated (with
// subtitle renditions) without re-encoding.
type Variant struct {
	URI              string  `json:"uri"` // relative to the master, e.g. "720p/index.m3u8"
	Width            int     `json:"width"`
	Height           int     `json:"height"`
	Bandwidth        int     `json:"bandwidth"`         // peak segment bit rate, bit/s
	AverageBandwidth int     `json:"average_bandwidth"` // bit/s
	Codecs           string  `json:"codecs"`            // RFC 6381, e.g. "avc1.64001f,mp4a.40.2"
	FrameRate        float64 `json:"frame_rate,omitempty"`
}

// VariantsFile is where Render saves the variants, relative to outDir.
const VariantsFile = "hls/variants.json"

// ParseVariants reads hls/variants.json, to rebuild the master playlist
// with MasterPlaylist when subtitle tracks change.
func ParseVariants(data []byte) ([]Variant, error) {
	var vs []Variant
	if err := json.Unmarshal(data, &vs); err != nil {
		return nil, fmt.Errorf("media: variants: %w", err)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("media: variants: none listed")
	}
	return vs, nil
}

// SubtitleRendition is a WebVTT subtitle playlist offered next to the variants.
type SubtitleRendition struct {
	Lang, Name string
	Default    bool
	URI        string // relative to the master, e.g. "subs/fr/playlist.m3u8"
}

// quoted makes s safe inside an HLS quoted-string (no quote, no line break).
func quoted(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '"', '\r', '\n':
			return -1
		}
		return r
	}, s)
	return `"` + s + `"`
}

// MasterPlaylist renders the HLS master playlist for variants and subtitle
// renditions. It is pure: the subtitles engineer calls it again with
// Variants read from hls/variants.json when tracks change.
func MasterPlaylist(variants []Variant, subs []SubtitleRendition) []byte {
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	if len(subs) > 0 {
		b.WriteString("\n")
	}
	for _, s := range subs {
		def := "NO"
		if s.Default {
			def = "YES"
		}
		name := s.Name
		if name == "" {
			name = s.Lang
		}
		fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=%s,LANGUAGE=%s,DEFAULT=%s,AUTOSELECT=YES,URI=%s\n",
			quoted(name), quoted(s.Lang), def, quoted(s.URI))
	}
	for _, v := range variants {
		b.WriteString("\n#EXT-X-STREAM-INF:BANDWIDTH=")
		b.WriteString(strconv.Itoa(v.Bandwidth))
		if v.AverageBandwidth > 0 {
			fmt.Fprintf(&b, ",AVERAGE-BANDWIDTH=%d", v.AverageBandwidth)
		}
		fmt.Fprintf(&b, ",RESOLUTION=%dx%d", v.Width, v.Height)
		if v.FrameRate > 0 {
			fmt.Fprintf(&b, ",FRAME-RATE=%.3f", v.FrameRate)
		}
		fmt.Fprintf(&b, ",CODECS=%s", quoted(v.Codecs))
		if len(subs) > 0 {
			b.WriteString(`,SUBTITLES="subs"`)
		}
		b.WriteString("\n")
		b.WriteString(v.URI)
		b.WriteString("\n")
	}
	return b.Bytes()
}

// Segment is one entry of a media playlist.
type Segment struct {
	URI      string
	Duration time.Duration
}

// MediaPlaylist is what ParseMediaPlaylist reads from a VOD media playlist.
type MediaPlaylist struct {
	Init     string // EXT-X-MAP URI, "" if none
	Target   time.Duration
	Segments []Segment
	Ended    bool // EXT-X-ENDLIST seen
}

// ParseMediaPlaylist reads the subset of HLS that ffmpeg writes for VOD:
// EXT-X-TARGETDURATION, EXT-X-MAP, EXTINF + URI, EXT-X-ENDLIST.
func ParseMediaPlaylist(data []byte) (MediaPlaylist, error) {
	var pl MediaPlaylist
	sc := bufio.NewScanner(bytes.NewReader(data))
	first := true
	var pending time.Duration = -1
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if first {
			if line != "#EXTM3U" {
				return pl, fmt.Errorf("media: playlist: missing #EXTM3U")
			}
			first = false
			continue
		}
		switch {
		case strings.HasPrefix(line, "#EXTINF:"):
			v, _, _ := strings.Cut(strings.TrimPrefix(line, "#EXTINF:"), ",")
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1e6 {
				return pl, fmt.Errorf("media: playlist: bad EXTINF %q", line)
			}
			pending = time.Duration(f * float64(time.Second))
		case strings.HasPrefix(line, "#EXT-X-TARGETDURATION:"):
			n, err := strconv.Atoi(strings.TrimPrefix(line, "#EXT-X-TARGETDURATION:"))
			if err != nil || n < 0 || n > 1e6 {
				return pl, fmt.Errorf("media: playlist: bad target duration %q", line)
			}
			pl.Target = time.Duration(n) * time.Second
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			_, rest, ok := strings.Cut(line, `URI="`)
			if !ok {
				return pl, fmt.Errorf("media: playlist: bad map %q", line)
			}
			pl.Init, _, _ = strings.Cut(rest, `"`)
		case line == "#EXT-X-ENDLIST":
			pl.Ended = true
		case strings.HasPrefix(line, "#"):
		default:
			if pending < 0 {
				return pl, fmt.Errorf("media: playlist: URI %q without EXTINF", line)
			}
			pl.Segments = append(pl.Segments, Segment{URI: line, Duration: pending})
			pending = -1
		}
	}
	if first {
		return pl, fmt.Errorf("media: playlist: empty")
	}
	return pl, sc.Err()
}

// avc1 is the RFC 6381 codec string of H.264 high profile at level (x10).
func avc1(level int) string { return fmt.Sprintf("avc1.6400%02x", level) }

// levelFor picks the H.264 level of a rendition.
func levelFor(w, h int, fps float64) int {
	mbs := float64(((w+15)/16)*((h+15)/16)) * max(fps, 1)
	switch {
	case mbs <= 40500: // e.g. 720x576@25, 640x360@60
		return 30
	case mbs <= 108000: // 1280x720@30
		return 31
	case mbs <= 245760: // 1920x1080@30
		return 40
	case mbs <= 522240: // 1920x1080@60
		return 42
	}
	return 51
}

// maxrateFor is the VBV cap of a rendition in kbit/s, by pixel count.
func maxrateFor(w, h int) int {
	return max(300, w*h*24/10/1000)
}
