package main

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestVmRSSAndParent(t *testing.T) {
	kb, err := vmRSS(os.Getpid())
	if err != nil || kb <= 0 || kb > 4<<20 {
		t.Errorf("vmRSS(self) = %d kB, %v; want a plausible size", kb, err)
	}
	if pp, err := parentOf(os.Getpid()); err != nil || pp != os.Getppid() {
		t.Errorf("parentOf(self) = %d, %v; want %d", pp, err, os.Getppid())
	}
	if _, err := vmRSS(-1); err == nil {
		t.Error("vmRSS of a pid that cannot exist: no error")
	}
}

func TestVerdict(t *testing.T) {
	under := func(c *bcase) bool { return c.median() < 20*time.Millisecond }
	for _, c := range []struct {
		name string
		c    *bcase
		want string
	}{
		{"fast", &bcase{durs: []time.Duration{5 * time.Millisecond, 30 * time.Millisecond, 6 * time.Millisecond}}, "PASS"},
		{"slow", &bcase{durs: []time.Duration{25 * time.Millisecond}}, "MISS"},
		{"failed", &bcase{err: errors.New("x"), durs: []time.Duration{time.Millisecond}}, "n/a"},
		{"no numbers", &bcase{}, "n/a"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := verdict(c.c, under); got != c.want {
				t.Errorf("verdict = %s, want %s", got, c.want)
			}
		})
	}
}
