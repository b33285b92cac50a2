package container

import (
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/state"
)

func TestCheckFreezable(t *testing.T) {
	self, err := proc.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("ab", 32)
	live := func(s state.Status) *state.Container {
		return &state.Container{ID: id, Status: s, Pid: os.Getpid(), PidStartTime: self}
	}
	tests := []struct {
		name   string
		c      *state.Container
		freeze bool
		want   string // "" for allowed
	}{
		{"pause running", live(state.Running), true, ""},
		{"pause paused", live(state.Paused), true, "container " + id + " is already paused"},
		{"pause exited", &state.Container{ID: id, Status: state.Exited}, true, "container " + id + " is not running"},
		{"pause created", &state.Container{ID: id, Status: state.Created}, true, "container " + id + " is not running"},
		{"pause restarting", &state.Container{ID: id, Status: state.Restarting}, true, "Container " + id + " is restarting, wait until the container is running"},
		{"pause dead pid", &state.Container{ID: id, Status: state.Running, Pid: os.Getpid(), PidStartTime: self + 1}, true, "container " + id + " is not running"},
		{"unpause paused", live(state.Paused), false, ""},
		{"unpause running", live(state.Running), false, "Container " + id + " is not paused"},
		{"unpause exited", &state.Container{ID: id, Status: state.Exited}, false, "Container " + id + " is not paused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkFreezable(tc.c, tc.freeze)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	var nr *run.NotRunningError
	if !errors.As(checkFreezable(&state.Container{ID: id, Status: state.Exited}, true), &nr) {
		t.Error("pausing an exited container is not a *NotRunningError")
	}
}

// Docker thaws a paused container after kill only for signals meant to
// end it; any other waits in the frozen process until unpause.
func TestResumesOn(t *testing.T) {
	withStop := &state.Container{Config: state.Config{StopSignal: "SIGINT"}}
	tests := []struct {
		name string
		c    *state.Container
		sig  unix.Signal
		want bool
	}{
		{"kill", withStop, unix.SIGKILL, true},
		{"its stop signal", withStop, unix.SIGINT, true},
		{"another signal", withStop, unix.SIGUSR1, false},
		{"no stop signal set: any", &state.Container{}, unix.SIGUSR1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := resumesOn(tc.c, tc.sig); got != tc.want {
				t.Errorf("resumesOn(%v) = %v, want %v", tc.sig, got, tc.want)
			}
		})
	}
}

// rm without -f refuses a paused container as docker does, leaving it be.
func TestRemovePausedNeedsForce(t *testing.T) {
	root, runRoot := t.TempDir(), t.TempDir()
	s := Store{Root: root, RunRoot: runRoot}
	self, err := proc.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	c := &state.Container{ID: strings.Repeat("cd", 32), Name: "frozen", Status: state.Paused, Pid: os.Getpid(), PidStartTime: self}
	dir, _ := state.Dir(root, c.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := state.Save(root, c); err != nil {
		t.Fatal(err)
	}
	_, err = s.Remove("frozen", false)
	want := `cannot remove container "/frozen": container is paused and must be unpaused first`
	if err == nil || err.Error() != want {
		t.Fatalf("rm of a paused container: %v, want %q", err, want)
	}
	if got, err := state.Load(root, c.ID); err != nil || got.Status != state.Paused {
		t.Errorf("record after the refusal: %+v, %v", got, err)
	}
}
