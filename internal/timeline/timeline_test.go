package timeline

import (
	"strconv"
	"strings"
	"testing"
)

// Off, a mark is free: -D must cost a run nothing when not given.
func TestOffCostsNothing(t *testing.T) {
	Stop()
	if allocs := testing.AllocsPerRun(100, func() { Mark("phase"); Relay("x y 1") }); allocs != 0 {
		t.Fatalf("Mark and Relay off allocate %v times, want 0", allocs)
	}
}

// A joined process marks its own start first, then each phase, as
// "<process> <phase> <ms>" with ms since the CLI's start, never falling.
func TestMarks(t *testing.T) {
	defer Stop()
	var got []string
	origin := now() - 5e6 // the CLI started 5 ms ago
	Join(origin, "init", func(m string) { got = append(got, m) })
	Mark("config")
	Mark("exec")
	Relay("cli started 1.00")
	if len(got) != 4 {
		t.Fatalf("marks = %q, want 4", got)
	}
	last := -1.0
	for i, want := range []string{"init start", "init config", "init exec"} {
		name, ms, ok := strings.Cut(got[i][len(want):], " ")
		v, err := strconv.ParseFloat(ms, 64)
		if !strings.HasPrefix(got[i], want) || name != "" || !ok || err != nil || v < last || v > 60e3 {
			t.Errorf("mark %d = %q, want %q and ms not below %.2f", i, got[i], want+" <ms>", last)
		}
		last = v
	}
	if got[3] != "cli started 1.00" {
		t.Errorf("relayed mark = %q, want it verbatim", got[3])
	}
	if Origin() != origin || !Enabled() {
		t.Errorf("Origin, Enabled = %d, %v; want %d, true", Origin(), Enabled(), origin)
	}
}

// A process's start is the Go runtime's: strictly before now (the
// fallback, now itself, would not be), and not before the test binary
// could have been started.
func TestGoStart(t *testing.T) {
	n := now()
	s := goStart()
	if s >= n || n-s > 10*60e9 {
		t.Fatalf("goStart = %d, now %d: not within the last 10 minutes", s, n)
	}
}

// A CLI started by a rootless CLI in its namespace keeps the outer one's
// origin from the environment (one clock for the run); without it, or
// with one later than its own start, the origin is its own start.
func TestStartCLIOrigin(t *testing.T) {
	defer Stop()
	own := goStart()
	// goStart reads two clocks: two calls differ by microseconds.
	near := func(o int64) bool { return o > own-1e6 && o < own+1e6 }
	for _, tc := range []struct {
		env  string
		want func(int64) bool
	}{
		{strconv.FormatInt(own-7e6, 10), func(o int64) bool { return o == own-7e6 }},
		{"", near},
		{strconv.FormatInt(own+60e9, 10), near},
		{"junk", near},
	} {
		t.Setenv(Env, tc.env)
		StartCLI()
		if !tc.want(Origin()) {
			t.Errorf("%s=%q: origin %d (own start %d)", Env, tc.env, Origin(), own)
		}
	}
}
