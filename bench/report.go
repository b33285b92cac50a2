package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// section is one table: skiff's case first, then the peers it is compared with.
type section struct {
	title  string
	fmtDur func(time.Duration) string
	skiff  *bcase
	peers  []peerRow
	notes  []string // how the lines were measured, printed under the table
	tail   []string // printed last, as they are (the -D timeline)
	// lhs names skiff's line in the ratio column ("ps" in ps/--version);
	// empty: "skiff".
	lhs string
	// rate: fmtDur shows a rate (MB/s), so min..max is printed slowest
	// to fastest, lowest rate first.
	rate bool
}

// peerRow is a peer case, the short name used in its ratio column, and the
// target skiff must meet against it (skiff/peer <= target), 0 when none.
// With maxCost the row compares the medians' difference instead
// (skiff-peer <= maxCost): what a feature adds to the same command.
type peerRow struct {
	c       *bcase
	short   string
	target  float64
	maxCost time.Duration
}

// ratioTarget judges skiff/peer against a target; ok is false when either
// side has no number.
func ratioTarget(skiff, peer *bcase, target float64) (ratio float64, ok, pass bool) {
	if skiff.err != nil || peer.err != nil || len(skiff.durs) == 0 || len(peer.durs) == 0 {
		return 0, false, false
	}
	ratio = float64(skiff.median()) / float64(peer.median())
	return ratio, true, target == 0 || ratio <= target
}

func (s *section) print(w io.Writer) {
	fmt.Fprintf(w, "%s\n", s.title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  \tmedian\tmin..max\tratio\ttarget\t")
	s.row(tw, s.skiff, "", "")
	for _, p := range s.peers {
		if p.maxCost > 0 {
			s.costRow(tw, p)
			continue
		}
		ratio, ok, pass := ratioTarget(s.skiff, p.c, p.target)
		rs, ts := "-", ""
		if ok {
			rs = fmt.Sprintf("%s/%s %.2fx", cmp.Or(s.lhs, "skiff"), p.short, ratio)
		}
		if p.target > 0 {
			verdict := "n/a"
			if ok && pass {
				verdict = "PASS"
			} else if ok {
				verdict = "MISS"
			}
			ts = fmt.Sprintf("<= %.2fx %s", p.target, verdict)
		}
		s.row(tw, p.c, rs, ts)
	}
	tw.Flush()
	for _, n := range s.notes {
		fmt.Fprintf(w, "  - %s\n", n)
	}
	// Failures go after the table: their messages would wreck its columns.
	for _, c := range append([]*bcase{s.skiff}, peerCases(s.peers)...) {
		switch {
		case errors.Is(c.err, errSkipped): // the error reads "skipped: <reason>"
			fmt.Fprintf(w, "  ! %s: %v\n", c.name, oneLine(c.err.Error()))
		case c.err != nil:
			fmt.Fprintf(w, "  ! %s failed: %v\n", c.name, oneLine(c.err.Error()))
		}
	}
	for _, l := range s.tail {
		fmt.Fprintln(w, l)
	}
}

// costRow is a peer row judged by the difference of the medians.
func (s *section) costRow(tw io.Writer, p peerRow) {
	ds, ts := "-", fmt.Sprintf("<= +%s n/a", s.fmtDur(p.maxCost))
	if s.skiff.err == nil && p.c.err == nil && len(s.skiff.durs) > 0 && len(p.c.durs) > 0 {
		d := s.skiff.median() - p.c.median()
		verdict := "PASS"
		if d > p.maxCost {
			verdict = "MISS"
		}
		ds = fmt.Sprintf("%s-%s %+.2f ms", cmp.Or(s.lhs, "skiff"), p.short, float64(d.Microseconds())/1000)
		ts = fmt.Sprintf("<= +%s %s", s.fmtDur(p.maxCost), verdict)
	}
	s.row(tw, p.c, ds, ts)
}

func (s *section) row(tw io.Writer, c *bcase, ratio, target string) {
	if errors.Is(c.err, errSkipped) {
		fmt.Fprintf(tw, "  %s\tskipped\t\t%s\t%s\t\n", c.name, ratio, target)
		return
	}
	if c.err != nil || len(c.durs) == 0 {
		fmt.Fprintf(tw, "  %s\tFAILED\t\t%s\t%s\t\n", c.name, ratio, target)
		return
	}
	lo, hi := c.durs[0], c.durs[0]
	for _, d := range c.durs {
		lo, hi = min(lo, d), max(hi, d)
	}
	if s.rate {
		lo, hi = hi, lo
	}
	fmt.Fprintf(tw, "  %s\t%s\t%s..%s\t%s\t%s\t\n", c.name, s.fmtDur(c.median()), s.fmtDur(lo), s.fmtDur(hi), ratio, target)
}

func peerCases(ps []peerRow) []*bcase {
	var out []*bcase
	for _, p := range ps {
		out = append(out, p.c)
	}
	return out
}

// oneLine keeps an error to one line of at most 300 bytes.
func oneLine(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\n", " | ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
