package server

import (
	"testing"
	"time"

	"github.com/skiff-dev/skiff/state"
)

func TestShouldRestart(t *testing.T) {
	rec := func(name string, max, count int, stopped, rm bool) *state.Container {
		c := &state.Container{RestartCount: count, ManuallyStopped: stopped}
		c.Config.RestartPolicy = state.RestartPolicy{Name: name, MaximumRetryCount: max}
		c.Config.AutoRemove = rm
		return c
	}
	tests := []struct {
		name string
		c    *state.Container
		code int
		want bool
	}{
		{"no policy", rec("", 0, 0, false, false), 1, false},
		{"no", rec("no", 0, 0, false, false), 1, false},
		{"always after success", rec("always", 0, 5, false, false), 0, true},
		{"always, manually stopped", rec("always", 0, 0, true, false), 137, false},
		{"unless-stopped", rec("unless-stopped", 0, 0, false, false), 0, true},
		{"unless-stopped, stopped", rec("unless-stopped", 0, 0, true, false), 0, false},
		{"on-failure, success", rec("on-failure", 0, 0, false, false), 0, false},
		{"on-failure, failure, unbounded", rec("on-failure", 0, 99, false, false), 1, true},
		{"on-failure:2 below max", rec("on-failure", 2, 1, false, false), 1, true},
		{"on-failure:2 at max", rec("on-failure", 2, 2, false, false), 1, false},
		{"on-failure, stopped", rec("on-failure", 0, 0, true, false), 1, false},
		{"--rm never restarts", rec("always", 0, 0, false, true), 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shouldRestart(tt.c, tt.code); got != tt.want {
				t.Fatalf("shouldRestart = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	var b backoff
	steps := []struct {
		ranFor time.Duration
		want   time.Duration
	}{
		{0, 100 * time.Millisecond},
		{time.Millisecond, 200 * time.Millisecond},
		{time.Second, 400 * time.Millisecond},
		{11 * time.Second, 100 * time.Millisecond}, // ran long enough: reset
		{0, 200 * time.Millisecond},
	}
	for i, s := range steps {
		if got := b.next(s.ranFor); got != s.want {
			t.Fatalf("step %d: delay %v, want %v", i, got, s.want)
		}
	}
	for range 20 {
		b.next(0)
	}
	if got := b.next(0); got != time.Minute {
		t.Fatalf("delay grew to %v, want the one-minute cap", got)
	}
}
