package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// bcase is one line of a table: a command timed n times.
type bcase struct {
	name string
	// prep runs untimed before iteration i (fresh store, sync); may be nil.
	prep func(i int) error
	// step is the timed work of iteration i; it returns its own duration so
	// a step run on another thread (crun) times only the command.
	step func(i int) (time.Duration, error)
	// cleanup runs untimed after iteration i; may be nil.
	cleanup func(i int)

	durs []time.Duration
	err  error
}

// measure runs warm untimed iterations, then n timed ones, round-robin over
// cases so that drift (the root fs gets slower run to run) spreads evenly
// instead of penalising whichever tool goes last. A case that fails keeps
// its error and is dropped from later iterations.
func measure(cases []*bcase, warm, n int, progress func(string)) {
	for i := -warm; i < n; i++ {
		for _, c := range cases {
			if interrupted.Load() {
				return
			}
			if c.err != nil {
				continue
			}
			d, err := once(c, i)
			if err != nil {
				c.err = err
				continue
			}
			if i >= 0 {
				c.durs = append(c.durs, d)
				progress(fmt.Sprintf("%s #%d %s", c.name, i+1, ms(d)))
			}
		}
	}
}

func once(c *bcase, i int) (time.Duration, error) {
	if c.cleanup != nil {
		defer c.cleanup(i)
	}
	if c.prep != nil {
		if err := c.prep(i); err != nil {
			return 0, err
		}
	}
	return c.step(i)
}

func (c *bcase) median() time.Duration {
	if len(c.durs) == 0 {
		return 0
	}
	return median(c.durs)
}

// median of ds; the mean of the middle two when len is even.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// timeCmd runs a command and returns its wall time; on failure the error
// carries the last line of its output, the line that usually names the cause.
func timeCmd(cmd *exec.Cmd) (time.Duration, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		// The case's name says what ran; the paths would only bury the cause.
		return d, fmt.Errorf("%s: %w: %s", filepath.Base(cmd.Path), err, lastLine(out.String()))
	}
	return d, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func secs(d time.Duration) string {
	return fmt.Sprintf("%.2f s", d.Seconds())
}
