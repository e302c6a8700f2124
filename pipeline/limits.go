package pipeline

import (
	"fmt"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// Limits bound what an upload's source may be, so that one file cannot hold the workers for days
// or exhaust the disk with its renders. The zero value of a field means its default.
type Limits struct {
	Duration time.Duration // 0: DefaultLimits.Duration
	// Width and Height bound the picture, whichever way round it is (a portrait 2160×3840 fits
	// 3840×2160).
	Width, Height int
	FrameRate     float64 // frames per second, average
}

// DefaultLimits are generous: a full day's workshop, 8K, and the fastest screen recorders.
var DefaultLimits = Limits{Duration: 12 * time.Hour, Width: 7680, Height: 4320, FrameRate: 120}

// Job time bounds by default: 6 × the source's duration + 10 minutes. A render runs well above
// real time on one core even with the whole ladder; six times leaves room for a loaded machine.
const (
	DefaultJobTimeoutFactor = 6
	DefaultJobTimeoutBase   = 10 * time.Minute
)

func (l Limits) withDefaults() Limits {
	if l.Duration <= 0 {
		l.Duration = DefaultLimits.Duration
	}
	if l.Width <= 0 || l.Height <= 0 {
		l.Width, l.Height = DefaultLimits.Width, DefaultLimits.Height
	}
	if l.FrameRate <= 0 {
		l.FrameRate = DefaultLimits.FrameRate
	}
	return l
}

// check refuses a probed source past a limit: 422 on the field "source", naming the limit and
// the setting that raises it.
func (l Limits) check(p media.Probe) error {
	if p.Duration > l.Duration {
		return httpapi.Invalid("source", "the recording lasts %s, longer than the limit of %s (-max-duration, ATELIER_MAX_DURATION): cut it in parts or ask the operator",
			FormatTimecode(p.Duration), FormatTimecode(l.Duration))
	}
	long, short := max(p.Width, p.Height), min(p.Width, p.Height)
	if long > max(l.Width, l.Height) || short > min(l.Width, l.Height) {
		return httpapi.Invalid("source", "the picture is %d×%d, larger than the limit of %d×%d (-max-resolution, ATELIER_MAX_RESOLUTION): scale it down first",
			p.Width, p.Height, l.Width, l.Height)
	}
	if p.FrameRate > l.FrameRate {
		return httpapi.Invalid("source", "the recording has %.4g frames per second, more than the limit of %.4g (-max-fps, ATELIER_MAX_FPS): re-encode it at a lower frame rate",
			p.FrameRate, l.FrameRate)
	}
	return nil
}

// jobTimeout is how long one attempt of the job of a source of duration d may take.
func (s *Service) jobTimeout(d time.Duration) time.Duration {
	return time.Duration(float64(d)*s.cfg.JobTimeoutFactor) + s.cfg.JobTimeoutBase
}

// errJobTimeout is the cause of a job's context past its time bound.
var errJobTimeout = fmt.Errorf("pipeline: the job took longer than its time limit")
