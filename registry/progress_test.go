package registry

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFitLine(t *testing.T) {
	barLine := "0123456789ab: Downloading  [" + strings.Repeat("=", 25) + ">" + strings.Repeat(" ", 25) + "]  2MB/4MB"
	tests := []struct {
		name   string
		status string
		cur    int64
		total  int64
		cols   int
		want   string
	}{
		{"wide terminal shows the bar", "Downloading", 2e6, 4e6, 200, barLine},
		{"bar exactly fits below the last column", "Downloading", 2e6, 4e6, len(barLine) + 1, barLine},
		{"one column short drops the bar", "Downloading", 2e6, 4e6, len(barLine), "0123456789ab: Downloading  2MB/4MB"},
		{"80 columns drops the bar", "Downloading", 1234567, 3456789, 80, "0123456789ab: Downloading  1.235MB/3.457MB"},
		{"40 columns keeps the sizes when they fit", "Downloading", 2e6, 4e6, 40, "0123456789ab: Downloading  2MB/4MB"},
		{"40 columns drops long sizes", "Downloading", 1234567, 3456789, 40, "0123456789ab: Downloading"},
		{"unknown total", "Downloading", 1234, 0, 80, "0123456789ab: Downloading  1.234kB"},
		{"short status untouched", "Pull complete", 0, 0, 40, "0123456789ab: Pull complete"},
		{"too narrow for the status: cut", "Pull complete", 0, 0, 20, "0123456789ab: Pull "},
		{"too narrow for the id: cut", "Downloading", 1, 2, 8, "0123456"},
		{"one column", "Waiting", 0, 0, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fitLine("0123456789ab", &line{status: tt.status, cur: tt.cur, total: tt.total}, tt.cols)
			if got != tt.want {
				t.Errorf("fitLine(cols=%d) = %q, want %q", tt.cols, got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n >= tt.cols {
				t.Errorf("line of %d runes reaches the last of %d columns", n, tt.cols)
			}
		})
	}
}

func TestCutKeepsRunesWhole(t *testing.T) {
	if got := cut("ééé", 2); got != "éé" {
		t.Errorf("cut = %q, want %q", got, "éé")
	}
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// TestProgressFollowsResize: every redraw reads the width again.
func TestProgressFollowsResize(t *testing.T) {
	var out bytes.Buffer
	cols := 200
	p := &progress{w: &out, lines: map[string]*line{}, cols: func() int { return cols }}
	p.set("0123456789ab", "Downloading", 4e6)
	if !strings.Contains(out.String(), "[>") {
		t.Fatalf("no bar at 200 columns: %q", out.String())
	}
	out.Reset()
	cols = 30
	p.set("0123456789ab", "Downloading", 4e6)
	for _, l := range strings.Split(ansi.ReplaceAllString(out.String(), ""), "\n") {
		if len(l) >= 30 {
			t.Errorf("line %q does not fit the 30 columns the terminal has now", l)
		}
	}
}

// TestProgressUnknownWidth: a terminal of unknown size gets plain lines and
// no cursor movement.
func TestProgressUnknownWidth(t *testing.T) {
	var out bytes.Buffer
	p := &progress{w: &out, lines: map[string]*line{}, cols: func() int { return 0 }}
	p.printf("latest: Pulling from x")
	p.set("0123456789ab", "Pulling fs layer", 0)
	p.set("0123456789ab", "Downloading", 10)
	p.add("0123456789ab", 5)
	p.set("0123456789ab", "Pull complete", 0)
	p.printf("Digest: sha256:00")
	want := "latest: Pulling from x\n0123456789ab: Pulling fs layer\n0123456789ab: Downloading\n0123456789ab: Pull complete\nDigest: sha256:00\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}
