package media

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// The cut editor's previews of an uploaded source, in source time: its audio peaks (Waveform)
// and a thumbnail sprite (SourceStoryboard). Both are computed once per recording by ffmpeg
// through the one runner; the browser never decodes the source itself.

// Waveform peaks: PCM decoded at WaveformRate Hz, one min/max pair per WaveformSamplesPerPeak
// samples, that is WaveformPeaksPerSecond pairs per second of source.
const (
	WaveformRate           = 8000
	WaveformPeaksPerSecond = 10
	WaveformSamplesPerPeak = WaveformRate / WaveformPeaksPerSecond
)

// Waveform is audiowaveform's JSON format, version 2, one channel, 8 bits: Data holds min0,
// max0, min1, max1, ... in −128..127, Length pairs.
type Waveform struct {
	Version         int    `json:"version"`
	Channels        int    `json:"channels"`
	SampleRate      int    `json:"sample_rate"`
	SamplesPerPixel int    `json:"samples_per_pixel"`
	Bits            int    `json:"bits"`
	Length          int    `json:"length"`
	Data            []int8 `json:"data"`
}

// waveformArgs decodes the first audio stream of in, downmixed to mono at WaveformRate Hz, as
// raw signed 16-bit little-endian PCM on stdout: a low rate keeps the decode cheap and the pipe
// small (16 KB per second of source), enough for peaks at 10 per second.
func waveformArgs(in string) []string {
	return ffmpeg.Input(fileURL(in), untrusted(nil)).Get("a:0").
		Output("pipe:1", ffmpeg.KwArgs{"ac": 1, "ar": WaveformRate, "f": "s16le", "c:a": "pcm_s16le"}).GetArgs()
}

// MakeWaveform computes the peaks of the media at in, p its probe. The decoded samples stream
// through a fixed buffer: memory stays flat whatever the length of the source (an hour is
// 36 000 pairs). A source without audio gets silent peaks over its duration.
func MakeWaveform(ctx context.Context, in string, p Probe) (Waveform, error) {
	w := Waveform{Version: 2, Channels: 1, SampleRate: WaveformRate, SamplesPerPixel: WaveformSamplesPerPeak, Bits: 8}
	if !p.HasAudio {
		w.Length = int(math.Ceil(p.Duration.Seconds() * WaveformPeaksPerSecond))
		w.Data = make([]int8, 2*w.Length)
		return w, nil
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := w.bucket(pr)
		_, _ = io.Copy(io.Discard, pr) // let ffmpeg finish if bucketing stopped early
		done <- err
	}()
	args := append([]string{"-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"}, waveformArgs(in)...)
	err := execTool(ctx, FFmpegPath, args, pw)
	pw.Close()
	if berr := <-done; err == nil {
		err = berr
	}
	if err != nil {
		return Waveform{}, fmt.Errorf("media: waveform: %w", err)
	}
	return w, nil
}

// bucket reads s16le mono samples from r into min/max pairs of WaveformSamplesPerPeak samples
// (the last pair may cover fewer), scaled to 8 bits.
func (w *Waveform) bucket(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		buf      [2]byte
		n        int
		min, max int16 = math.MaxInt16, math.MinInt16
	)
	flush := func() {
		w.Data = append(w.Data, int8(min>>8), int8(max>>8))
		w.Length++
		n, min, max = 0, math.MaxInt16, math.MinInt16
	}
	for {
		if _, err := io.ReadFull(br, buf[:]); err != nil {
			if n > 0 {
				flush()
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return err
		}
		v := int16(binary.LittleEndian.Uint16(buf[:]))
		min, max = minI16(min, v), maxI16(max, v)
		if n++; n == WaveformSamplesPerPeak {
			flush()
		}
	}
}

func minI16(a, b int16) int16 {
	if b < a {
		return b
	}
	return a
}

func maxI16(a, b int16) int16 {
	if b > a {
		return b
	}
	return a
}

// SourceStoryboard writes the thumbnail sprite of the media at in (p its probe) to outJPG, with
// the same layout as a replay's storyboard (one 160 px thumbnail every few seconds, at most 100),
// and returns its WebVTT index, in source time, whose cues name sprite
// ("storyboard.jpg#xywh=x,y,w,h").
func SourceStoryboard(ctx context.Context, in string, p Probe, outJPG, sprite string) ([]byte, error) {
	if !p.HasVideo || p.Duration <= 0 {
		return nil, fmt.Errorf("media: storyboard of %s: %w", in, ErrNotMedia)
	}
	sb := storyboardFor(p.Duration, p.Width, p.Height)
	// Keyframes only when they are dense enough: much cheaper on a long screen recording.
	if pk, err := scanPackets(ctx, in, p, 2*time.Minute); err == nil && pk.maxKeyGap() <= sb.Every {
		sb.KeysOnly = true
	}
	if err := runFFmpeg(ctx, storyboardArgs(in, sb, outJPG), nil); err != nil {
		return nil, fmt.Errorf("media: storyboard: %w", err)
	}
	return storyboardVTT(sb, p.Duration, sprite), nil
}
