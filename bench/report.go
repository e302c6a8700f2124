package main

import (
	"bytes"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the table.
type row struct {
	Case     string
	Atelier  string // Atelier's median
	Baseline string // the baseline's median, or "—"
	Ratio    string
	PeakMem  string
	Target   string
	Result   string // pass | MISS | error
	Note     string // shown under the table
}

// finding is the evidence for a missed target: what the profile shows.
type finding struct {
	Case    string
	Summary string
	Profile string // `go tool pprof -top` lines, or stage timings
}

type report struct {
	Config   config
	Machine  machine
	Source   string
	Rows     []row
	Notes    []string
	Findings []finding
	Elapsed  time.Duration
}

func passMiss(ok bool) string {
	if ok {
		return "pass"
	}
	return "MISS"
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0f µs", float64(d)/1e3)
}

func fmtMS(ms float64) string { return fmtDur(time.Duration(ms * float64(time.Millisecond))) }

func fmtBytes(n int64) string {
	switch {
	case n <= 0:
		return "—"
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
}

var header = []string{"case", "Atelier (median)", "baseline (median)", "ratio", "peak memory", "target", "result"}

func (r row) cells() []string {
	return []string{r.Case, r.Atelier, r.Baseline, r.Ratio, r.PeakMem, r.Target, r.Result}
}

// table is the terminal version.
func (rep *report) table() string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rep.Rows {
		fmt.Fprintln(tw, strings.Join(r.cells(), "\t"))
	}
	tw.Flush()
	for _, r := range rep.Rows {
		if r.Note != "" {
			fmt.Fprintf(&b, "- %s: %s\n", r.Case, r.Note)
		}
	}
	return b.String()
}

func (rep *report) markdown() []byte {
	c := rep.Config
	var b bytes.Buffer
	mode := "full"
	if c.Quick {
		mode = "quick (BENCH_QUICK=1)"
	}
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Measured by `make bench` on %s, %s run, %d run(s) per process case, in %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), mode, c.Runs, rep.Elapsed.Round(time.Second))
	m := rep.Machine
	fmt.Fprintf(&b, "- machine: %d cores (`nproc`), %s; shared with other work (load average %s at the start)\n", m.NProc, m.CPU, m.Load)
	fmt.Fprintf(&b, "- ffmpeg %s; %s\n", m.FFmpeg, m.Go)
	fmt.Fprintf(&b, "- media: %s\n", c.Media.describe())
	fmt.Fprintf(&b, "\nRatios count, not absolute times: the machine is shared and noisy. Time ratios are Atelier ÷ baseline "+
		"(lower is better); speed-up and throughput ratios say so.\n\n")
	fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
	for _, r := range rep.Rows {
		cells := r.cells()
		if r.Result == "MISS" {
			cells[len(cells)-1] = "**MISS**"
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	b.WriteString("\n")
	for _, r := range rep.Rows {
		if r.Note != "" {
			fmt.Fprintf(&b, "- %s: %s\n", r.Case, r.Note)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	if len(rep.Findings) > 0 {
		b.WriteString("\n## Findings: targets missed, and the profiles that explain them\n")
		for _, f := range rep.Findings {
			fmt.Fprintf(&b, "\n### %s\n\n%s\n", f.Case, f.Summary)
			if f.Profile != "" {
				fmt.Fprintf(&b, "\n```\n%s\n```\n", strings.TrimRight(f.Profile, "\n"))
			}
		}
	}
	return b.Bytes()
}
