package e2e

import (
	"strings"
	"testing"
)

// docker refuses to start a paused container rather than calling it a no-op.
func TestStartPausedRefused(t *testing.T) {
	s := shared(t)
	id := s.runD(t, fx.busybox, "sleep", "300")
	s.must(t, "pause", id)
	r := s.skiff(nil, "start", id)
	if r.code != 1 || !strings.Contains(r.stderr, "cannot start a paused container, try unpause instead") {
		t.Fatalf("start of a paused container: %s", r)
	}
	if st := s.must(t, "inspect", "-f", "{{.State.Status}}", id).stdout; st != "paused\n" {
		t.Errorf("status after the refused start %q, want paused", st)
	}
}
