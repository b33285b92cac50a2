package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// assertNothingLeft: after a failed pull, no image, no layer and no leftover
// extraction dir is visible, and nothing outside the store changed.
func assertNothingLeft(t *testing.T, s *store) {
	t.Helper()
	if rows := s.imageRows(t); len(rows) != 0 {
		t.Errorf("images after a failed pull: %q", rows)
	}
	if got := s.layerDirs(t); len(got) != 0 {
		t.Errorf("layers/ after a failed pull: %v", got)
	}
	if got := s.tmpDirs(t); len(got) != 0 {
		t.Errorf("layers/.tmp after a failed pull (the failing writer should clean up): %v", got)
	}
	assertMarkersUntouched(t)
}

func assertMarkersUntouched(t *testing.T) {
	t.Helper()
	ents, err := os.ReadDir(fx.markerDir)
	if err != nil || len(ents) != 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("marker dir %s outside the store was written: %v %v", fx.markerDir, names, err)
	}
	b, err := os.ReadFile(fx.victim)
	if err != nil || string(b) != victimContent {
		t.Errorf("victim file %s outside the store changed: %q %v", fx.victim, b, err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(fx.victim, &st); err == nil && st.Nlink != 1 {
		t.Errorf("victim file %s got %d hard links", fx.victim, st.Nlink)
	}
	for _, p := range []string{"/escape", "/tmp/escape", filepath.Join(workDir, "escape")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists: a tar entry escaped", p)
		}
	}
}

func TestBadPulls(t *testing.T) {
	requireEnv(t)
	closed := closedPort(t)
	for _, c := range []struct{ name, ref, wantInMsg string }{
		{"unknown image", reg.Addr + "/library/nosuch", "nosuch"},
		{"unknown tag", reg.Addr + "/library/busybox:nosuchtag", "nosuchtag"},
		{"unknown digest", reg.Addr + "/library/busybox@sha256:" + strings.Repeat("0", 64), "sha256:000"},
		{"unreachable registry", "127.0.0.1:" + closed + "/library/busybox", "127.0.0.1:" + closed},
		{"malformed reference", "UPPER/Case", "invalid reference format"}, // docker names no ref
		{"empty reference", "", ""},
		{"digest mismatch", fx.tampered, "sha256:"},
		{"truncated layer", fx.truncated, "broken/truncated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			r := s.skiff(nil, "pull", c.ref)
			oneLineError(t, r, 1)
			if !strings.Contains(r.stderr, c.wantInMsg) {
				t.Errorf("the error does not name %q: %s", c.wantInMsg, r.stderr)
			}
			assertNothingLeft(t, s)
			if c.ref != "" {
				runError(t, s.skiff(nil, "run", "--rm", c.ref, "true"), 125)
				assertNothingLeft(t, s)
			}
		})
	}
}

// TestHostileLayers: tars that aim outside the layer dir never write there.
func TestHostileLayers(t *testing.T) {
	requireEnv(t)
	for name, c := range hostileCases(fx) {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			before := hostPasswdLinks(t)
			r := s.skiff(nil, "pull", fx.hostile[name])
			if after := hostPasswdLinks(t); after != before {
				t.Errorf("/etc/passwd link count changed %d -> %d", before, after)
			}
			assertMarkersUntouched(t)
			if r.code == 0 && c.mustFail {
				t.Fatalf("pull of a layer with %s succeeded; docker refuses it", tarNames(c.files))
			}
			if r.code != 0 {
				t.Logf("refused: %s", strings.TrimSpace(r.stderr))
				oneLineError(t, r, 1)
				assertNothingLeft(t, s)
				found := false
				filepath.Walk(s.root, func(p string, info os.FileInfo, err error) error {
					found = found || err == nil && info.Name() == "escape"
					return nil
				})
				if found {
					t.Errorf("a file named escape was written in the store outside any layer")
				}
				return
			}
			t.Logf("accepted: entries resolved inside the layer")
			// Resolved inside the layer instead (containerd's way): the write
			// must have landed under the layer dir.
			found := false
			filepath.Walk(s.root, func(p string, info os.FileInfo, err error) error {
				if err == nil && (info.Name() == "owned" || info.Name() == "rel" || info.Name() == "absolute") {
					found = true
				}
				return nil
			})
			if !found {
				t.Errorf("pull succeeded but the entry %s is nowhere in the store", tarNames(c.files))
			}
		})
	}
}

func hostPasswdLinks(t *testing.T) uint64 {
	var st syscall.Stat_t
	if err := syscall.Stat("/etc/passwd", &st); err != nil {
		t.Fatal(err)
	}
	return uint64(st.Nlink)
}

func closedPort(t *testing.T) string {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(p)
}
