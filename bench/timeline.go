package main

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// The -D phase timeline printed under each run table: where the time of
// one `skiff run` goes, mark by mark, across its three processes (the CLI,
// the monitor, the container's init). Each mark is "<process> <phase> <ms
// since the CLI started>" on the CLI's stderr (internal/timeline); the
// table holds each mark's median over a few runs, in time order, with the
// step from the line above.

// timelineRuns is how many -D runs the medians come from: one run's marks
// jitter by a millisecond or two on this VM.
const timelineRuns = 5

const debugPrefix = "skiff: debug: "

// phaseMark is one mark of one run.
type phaseMark struct {
	key string // "<process> <phase>", with "#2" on a repeated one
	ms  float64
}

// phaseTimeline runs `skiff -D run ...` timelineRuns times on the store at
// root and returns the table's lines.
func (e *env) phaseTimeline(root string) ([]string, error) {
	if e.skiffErr != nil {
		return nil, e.skiffErr
	}
	var runs [][]phaseMark
	for i := 0; i < timelineRuns; i++ {
		var stderr bytes.Buffer
		cmd := e.skiffCmd(root, append([]string{"-D"}, skiffRunArgs(e.bbRef)...)...)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("skiff -D run: %w: %s", err, lastLine(stderr.String()))
		}
		marks, err := parseMarks(stderr.String())
		if err != nil {
			return nil, err
		}
		runs = append(runs, marks)
	}
	return formatTimeline(medianMarks(runs)), nil
}

// parseMarks reads the "skiff: debug: <process> <phase> <ms>" lines.
func parseMarks(stderr string) ([]phaseMark, error) {
	var out []phaseMark
	seen := map[string]int{}
	for _, line := range strings.Split(stderr, "\n") {
		rest, ok := strings.CutPrefix(line, debugPrefix)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 3 {
			continue // another debug line, not a mark
		}
		ms, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			continue
		}
		key := f[0] + " " + f[1]
		if seen[key]++; seen[key] > 1 {
			key += fmt.Sprintf("#%d", seen[key])
		}
		out = append(out, phaseMark{key: key, ms: ms})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("skiff -D printed no phase marks")
	}
	return out, nil
}

// medianMarks is each mark's median over the runs that have it, in time
// order. A mark missing from some runs (a race decides whether it is
// made) still shows, from the runs that made it.
func medianMarks(runs [][]phaseMark) []phaseMark {
	byKey := map[string][]float64{}
	var order []string
	for _, r := range runs {
		for _, m := range r {
			if _, ok := byKey[m.key]; !ok {
				order = append(order, m.key)
			}
			byKey[m.key] = append(byKey[m.key], m.ms)
		}
	}
	out := make([]phaseMark, 0, len(order))
	for _, k := range order {
		v := slices.Clone(byKey[k])
		slices.Sort(v)
		med := v[len(v)/2]
		if len(v)%2 == 0 {
			med = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		out = append(out, phaseMark{key: k, ms: med})
	}
	slices.SortStableFunc(out, func(a, b phaseMark) int {
		switch {
		case a.ms < b.ms:
			return -1
		case a.ms > b.ms:
			return 1
		}
		return 0
	})
	return out
}

func formatTimeline(marks []phaseMark) []string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  process\tphase\t   at ms\t step ms\t")
	prev := 0.0
	for _, m := range marks {
		proc, phase, _ := strings.Cut(m.key, " ")
		fmt.Fprintf(tw, "  %s\t%s\t%8.2f\t%+8.2f\t\n", proc, phase, m.ms, m.ms-prev)
		prev = m.ms
	}
	tw.Flush()
	return strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
}

// timelineTail is the timeline's title and table for a section's tail, or
// the reason there is none.
func (e *env) timelineTail(root string) []string {
	title := fmt.Sprintf("\n-D phase timeline of `skiff -D %s` (median of %d runs, ms since the CLI started; step: from the line above)",
		strings.Join(skiffRunArgs("busybox"), " "), timelineRuns)
	lines, err := e.phaseTimeline(root)
	if err != nil {
		return []string{title, "  ! timeline failed: " + oneLine(err.Error())}
	}
	return append([]string{title}, lines...)
}
