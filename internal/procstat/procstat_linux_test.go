package procstat

import (
	"os"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	// A comm with spaces and parentheses, as a process may name itself.
	line := "4242 (a) b (c)) S 17 4242 4242 34816 4242 4194304 100 0 0 0 " +
		"250 30 0 0 20 0 1 0 987654 1000000 200 18446744073709551615\n"
	got, err := Parse([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := Stat{Comm: "a) b (c)", State: 'S', PPid: 17, TTYNr: 34816, UTime: 250, STime: 30, StartTime: 987654}
	if *got != want {
		t.Errorf("Parse = %+v, want %+v", *got, want)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tt := range []struct{ name, line, want string }{
		{"no comm", "4242 S 1 2 3", "unexpected format"},
		{"short", "4242 (sh) S 1 2 3", "too few fields"},
		{"bad number", "4242 (sh) S x 4242 4242 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 0 0", "field 4"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.line)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) = %v, want an error with %q", tt.line, err, tt.want)
			}
		})
	}
}

func TestReadSelf(t *testing.T) {
	s, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// The main thread of a Go test binary may be running or asleep while
	// another thread runs the test: R or S, never a zombie or stopped.
	if s.PPid != os.Getppid() || s.StartTime == 0 || (s.State != 'R' && s.State != 'S') {
		t.Errorf("Read(self) = %+v: want our parent %d, a start time and state R or S", *s, os.Getppid())
	}
	if _, err := Read(-1); err == nil {
		t.Error("Read(-1) succeeded")
	}
}
