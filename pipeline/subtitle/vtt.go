package subtitle

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/asticode/go-astisub"
)

// WriteVTT writes subs as WebVTT: the "WEBVTT" header, then the cues in order, italics, bold and
// underline as <i>, <b>, <u>, and position cue settings. It writes a clean copy: no TTML or SSA
// regions (astisub would write them in a pre-standard "Region:" syntax), no blank lines inside a
// cue (a blank line ends a WebVTT cue), no "-->" inside cue text, no X-TIMESTAMP-MAP (that belongs
// to HLS segments, see Segment). A track with no cues is a bare header, which is a valid file.
func WriteVTT(w io.Writer, subs *astisub.Subtitles) error {
	out := cleanForVTT(subs)
	if len(out.Items) == 0 {
		_, err := io.WriteString(w, "WEBVTT\n")
		return err
	}
	if err := out.WriteToWebVTT(w); err != nil {
		return fmt.Errorf("subtitle: write webvtt: %w", err)
	}
	return nil
}

// VTT is WriteVTT into a byte slice.
func VTT(subs *astisub.Subtitles) ([]byte, error) {
	var b bytes.Buffer
	if err := WriteVTT(&b, subs); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func cleanForVTT(subs *astisub.Subtitles) *astisub.Subtitles {
	out := astisub.NewSubtitles()
	if subs == nil {
		return out
	}
	for id, st := range subs.Styles {
		if st != nil && st.InlineStyle != nil && len(st.InlineStyle.WebVTTStyles) > 0 {
			out.Styles[id] = st
		}
	}
	for _, it := range subs.Items {
		cp := *it
		cp.Region = nil
		cp.Comments = nil
		cp.Lines = nil
		for _, l := range it.Lines {
			nl := Line{VoiceName: l.VoiceName}
			for _, x := range l.Items {
				x.Text = strings.ReplaceAll(x.Text, "-->", "->")
				x.Text = strings.NewReplacer("\r", " ", "\n", " ").Replace(x.Text)
				nl.Items = append(nl.Items, x)
			}
			if strings.TrimSpace(nl.String()) == "" {
				continue
			}
			cp.Lines = append(cp.Lines, nl)
		}
		out.Items = append(out.Items, &cp)
	}
	return out
}

// Line is astisub's line type, named here so that callers need not import astisub to build cues.
type Line = astisub.Line

// SegmentOptions tune Segment. The zero value means the defaults.
type SegmentOptions struct {
	// SegmentDuration is the length of each WebVTT segment; default 30 s. Subtitle segments need
	// not match the video's; players fetch the ones covering the playback position.
	SegmentDuration time.Duration
	// MPEGTS is the 90 kHz timestamp that cue time 0 maps to, written in every segment's
	// X-TIMESTAMP-MAP. ffmpeg's fMP4 HLS output (hls_segment_type fmp4) starts the media timeline
	// at 0 (the first fragment's decode time is 0; the first frame's pts is only the encoder's
	// B-frame delay, 2 frames, which players show as is and which is far below what a reader
	// notices), so the default 0 is right for it; ffmpeg's MPEG-TS output starts at 1.4 s
	// (MPEGTS:126000) and would need that value instead. TestHLSWithFFmpeg checks the premise.
	MPEGTS int64
	// Prefix is put before each segment's name ("subs/fr/" gives "subs/fr/00000.vtt"); segment
	// URIs in the playlist are relative to the playlist, and so are the map keys.
	Prefix string
}

// DefaultSegmentDuration is the length of WebVTT segments when SegmentOptions leaves it 0.
const DefaultSegmentDuration = 30 * time.Second

// SegmentedVTT cuts a WebVTT track (as written by WriteVTT) into an HLS subtitle rendition with the
// default options: a VOD media playlist and its segments, keyed by their URI relative to the
// playlist. duration is the replay's length; the segments cover it exactly.
func SegmentedVTT(vtt []byte, duration time.Duration) (playlist []byte, segments map[string][]byte, err error) {
	subs, err := astisub.ReadFromWebVTT(bytes.NewReader(vtt))
	if err != nil {
		return nil, nil, fmt.Errorf("subtitle: read webvtt to segment: %w", err)
	}
	return Segment(subs, duration, SegmentOptions{})
}

// Segment cuts subs into WebVTT segments of opts.SegmentDuration covering [0, duration) and writes
// the media playlist that lists them. A cue that crosses a segment boundary is written in every
// segment it overlaps, with its full timing (the usual practice; players drop the duplicates).
// Cue times stay relative to the start of the replay: each segment's
// X-TIMESTAMP-MAP=MPEGTS:<opts.MPEGTS>,LOCAL:00:00:00.000 ties them to the media timeline.
func Segment(subs *astisub.Subtitles, duration time.Duration, opts SegmentOptions) (playlist []byte, segments map[string][]byte, err error) {
	if duration <= 0 {
		return nil, nil, fmt.Errorf("subtitle: segment: duration %s must be positive", duration)
	}
	segLen := opts.SegmentDuration
	if segLen <= 0 {
		segLen = DefaultSegmentDuration
	}
	clean := cleanForVTT(subs)
	n := int((duration + segLen - 1) / segLen)
	segments = make(map[string][]byte, n)
	var pl bytes.Buffer
	target := int(math.Ceil(min(segLen, duration).Seconds()))
	fmt.Fprintf(&pl, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n", target)
	header := fmt.Sprintf("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:%d,LOCAL:00:00:00.000\n", opts.MPEGTS)
	for i := range n {
		start := time.Duration(i) * segLen
		end := min(start+segLen, duration)
		part := astisub.NewSubtitles()
		part.Styles = clean.Styles
		for _, it := range clean.Items {
			if it.StartAt < end && it.EndAt > start {
				part.Items = append(part.Items, it)
			}
		}
		var seg bytes.Buffer
		seg.WriteString(header)
		if len(part.Items) > 0 {
			var body bytes.Buffer
			if err := part.WriteToWebVTT(&body); err != nil {
				return nil, nil, fmt.Errorf("subtitle: write segment %d: %w", i, err)
			}
			// Drop astisub's own "WEBVTT" line: the header above replaces it.
			b := strings.TrimPrefix(body.String(), "WEBVTT\n")
			seg.WriteString(b)
		}
		name := fmt.Sprintf("%s%05d.vtt", opts.Prefix, i)
		segments[name] = seg.Bytes()
		fmt.Fprintf(&pl, "#EXTINF:%.3f,\n%s\n", (end - start).Seconds(), name)
	}
	pl.WriteString("#EXT-X-ENDLIST\n")
	return pl.Bytes(), segments, nil
}
