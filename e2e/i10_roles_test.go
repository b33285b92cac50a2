package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// skiff-roles (issue 10): make embeds the small program of the re-exec'd
// roles in skiff, which installs it under its run root and runs every
// container's monitor, init and exec'd process from it; a plain `go build`
// embeds nothing and re-executes skiff itself. make's e2e target says which
// binary it tests (SKIFF_EXPECT_ROLES=1).

// i10rolesMonitorExe is the executable of container id's monitor.
func i10rolesMonitorExe(t *testing.T, id string) string {
	t.Helper()
	for _, pid := range allPids() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.Contains(string(b), "\x00__skiff_monitor\x00") || !strings.Contains(string(b), "\x00"+id) {
			continue
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil {
			t.Fatal(err)
		}
		return exe
	}
	t.Fatalf("no monitor process for %s", id)
	return ""
}

// i10rolesCheck runs a detached container and an exec in it with bin, and
// returns its monitor's executable.
func i10rolesCheck(t *testing.T, s *store) string {
	t.Helper()
	id := strings.TrimSpace(s.must(t, "run", "-d", fx.busybox, "sleep", "300").stdout)
	t.Cleanup(func() { s.skiff(nil, "rm", "-f", id) })
	if out := s.must(t, "exec", id, "echo", "exec-ok").stdout; out != "exec-ok\n" {
		t.Fatalf("exec printed %q", out)
	}
	return i10rolesMonitorExe(t, id)
}

func TestI10RolesProgram(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	s.must(t, "pull", fx.busybox)
	exe := i10rolesCheck(t, s)
	if os.Getenv("SKIFF_EXPECT_ROLES") != "1" {
		// A plain go build: the monitor is skiff itself.
		if want, _ := filepath.EvalSymlinks(skiffBin); exe != want {
			t.Errorf("monitor runs %s, want skiff itself (%s): this skiff embeds no skiff-roles", exe, want)
		}
		return
	}
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(s.runroot) + `/roles/[0-9a-f]{64}$`).MatchString(exe) {
		t.Fatalf("monitor runs %s, want the skiff-roles installed under %s/roles", exe, s.runroot)
	}
	fi, err := os.Stat(exe)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o500 || st.Uid != uint32(os.Geteuid()) {
		t.Errorf("installed skiff-roles has mode %v, owner %d: want 0500, ours", fi.Mode().Perm(), st.Uid)
	}
	if skiffFi, _ := os.Stat(skiffBin); skiffFi != nil && fi.Size() >= skiffFi.Size() {
		t.Errorf("skiff-roles is %d bytes, skiff %d: the roles program should be the small part", fi.Size(), skiffFi.Size())
	}
}

// A plain `go build .` (no make, no embedded skiff-roles) still runs,
// stops and execs containers: skiff re-executes itself.
func TestI10RolesPlainGoBuild(t *testing.T) {
	requireEnv(t)
	if os.Getenv("SKIFF_EXPECT_ROLES") != "1" {
		t.Skip("the binary under test is already a plain go build (TestI10RolesProgram checks it)")
	}
	_, file, _, _ := runtime.Caller(0)
	plain := filepath.Join(t.TempDir(), "skiff-plain")
	cmd := exec.Command("go", "build", "-trimpath", "-o", plain, ".")
	cmd.Dir = filepath.Dir(filepath.Dir(file))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	saved := skiffBin
	skiffBin = plain
	defer func() { skiffBin = saved }()
	s := newStore(t)
	s.must(t, "pull", fx.busybox)
	if exe := i10rolesCheck(t, s); exe != plain {
		t.Errorf("monitor of a plain go build runs %s, want the binary itself %s", exe, plain)
	}
	if _, err := os.Stat(filepath.Join(s.runroot, "roles")); err == nil {
		t.Error("a plain go build installed a skiff-roles")
	}
}
