package media

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

// tick is one block of ffmpeg's -progress output.
type tick struct {
	OutTime time.Duration // position reached in the output (-1 when unknown)
	Speed   float64       // 0 when unknown
	End     bool          // progress=end
}

// progressParser turns the key=value lines of -progress into ticks. A block
// ends with a "progress=continue" or "progress=end" line.
type progressParser struct {
	cur tick
}

func newProgressParser() *progressParser { return &progressParser{cur: tick{OutTime: -1}} }

// Line feeds one line; it returns a tick and true at the end of a block.
func (p *progressParser) Line(line string) (tick, bool) {
	key, val, ok := strings.Cut(strings.TrimSpace(line), "=")
	if !ok {
		return tick{}, false
	}
	val = strings.TrimSpace(val)
	switch key {
	case "out_time_us", "out_time_ms": // out_time_ms is microseconds too (historical ffmpeg bug)
		if us, err := strconv.ParseInt(val, 10, 64); err == nil && us >= 0 && us < int64(1<<62)/1000 {
			p.cur.OutTime = time.Duration(us) * time.Microsecond
		}
	case "speed":
		v := strings.TrimSuffix(val, "x")
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f < 1e6 {
			p.cur.Speed = f
		}
	case "progress":
		t := p.cur
		t.End = val == "end"
		p.cur = tick{OutTime: t.OutTime, Speed: t.Speed}
		return t, true
	}
	return tick{}, false
}

// readProgress reads -progress output from r until EOF, calling fn per block.
func readProgress(r io.Reader, fn func(tick)) error {
	p := newProgressParser()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64*1024)
	for sc.Scan() {
		if t, ok := p.Line(sc.Text()); ok && fn != nil {
			fn(t)
		}
	}
	return sc.Err()
}

// stage is a step of a long call with its share of the work.
type stage struct {
	name   string
	weight float64
}

// tracker turns the ticks of successive ffmpeg runs into Progress over the
// whole call: each stage weighs its share, the fraction never goes back.
type tracker struct {
	fn       func(Progress)
	stages   []stage
	idx      int // the current or next stage
	doneW    float64
	expected time.Duration
	started  time.Time
	last     float64
}

func newTracker(fn func(Progress)) *tracker { return &tracker{fn: fn, started: time.Now()} }

// plan replaces the stages not begun yet.
func (t *tracker) plan(st ...stage) {
	t.stages = append(t.stages[:t.idx:t.idx], st...)
}

func (t *tracker) totalW() float64 {
	var w float64
	for _, s := range t.stages {
		w += s.weight
	}
	return w
}

// begin starts the next stage, whose ffmpeg run writes expected output time.
func (t *tracker) begin(expected time.Duration) {
	t.expected = expected
	t.report(0, 0)
}

// tick is an ffmpeg progress block of the current stage.
func (t *tracker) tick(tk tick) {
	f := 0.0
	if tk.End {
		f = 1
	} else if t.expected > 0 && tk.OutTime > 0 {
		f = min(1, float64(tk.OutTime)/float64(t.expected))
	}
	t.report(f, tk.Speed)
}

// end closes the current stage.
func (t *tracker) end() {
	if t.idx < len(t.stages) {
		t.doneW += t.stages[t.idx].weight
		t.idx++
	}
	t.report(0, 0)
}

func (t *tracker) finish() {
	t.idx = len(t.stages)
	t.last = 1
	if t.fn != nil {
		t.fn(Progress{Stage: "done", Fraction: 1})
	}
}

func (t *tracker) report(f, speed float64) {
	if t.fn == nil {
		return
	}
	name := "done"
	cur := 0.0
	if t.idx < len(t.stages) {
		name = t.stages[t.idx].name
		cur = t.stages[t.idx].weight * f
	}
	frac := 0.0
	if tw := t.totalW(); tw > 0 {
		frac = min(1, (t.doneW+cur)/tw)
	}
	frac = max(frac, t.last)
	t.last = frac
	var eta time.Duration
	if frac > 0.02 && frac < 1 {
		el := time.Since(t.started)
		eta = time.Duration(float64(el) * (1 - frac) / frac).Round(time.Second)
	}
	t.fn(Progress{Stage: name, Fraction: frac, Speed: speed, ETA: eta})
}
