package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/internal/testenv"
)

// inside runs a shell command in a fresh busybox container and returns
// stdout. --network none: these checks are of isolation, not of the
// bridge (i14_net_test.go's), and "loopback up" wants no interface but lo.
func inside(t *testing.T, s *store, script string) result {
	t.Helper()
	return s.skiff(nil, "run", "--rm", "--network", "none", fx.busybox, "sh", "-c", script)
}

func TestIsolation(t *testing.T) {
	s := shared(t)
	hostName, _ := os.Hostname()
	for _, c := range []struct {
		name   string
		script string
		check  func(out string) string // "" when fine, else what is wrong
	}{
		{"pid 1", "echo $$", equals("1\n")},
		{"own pid namespace", "ps -o pid | wc -l", func(out string) string {
			// header, sh, ps, wc
			if n := strings.TrimSpace(out); n != "4" && n != "3" {
				return "ps inside sees " + n + " lines: host processes visible?"
			}
			return ""
		}},
		{"hostname is the short id", "hostname", matches(`^[0-9a-f]{12}\n$`)},
		{"no host mounts", "cat /proc/self/mountinfo", noHostMounts},
		// Masked with /dev/null where the kernel has them (this one may lack kcore).
		{"/proc masked paths", "for f in kcore keys timer_list sched_debug; do [ -e /proc/$f ] && wc -c < /proc/$f; done; true", func(out string) string {
			if strings.Trim(out, "0\n") != "" {
				return "a masked /proc file has content: " + out
			}
			return ""
		}},
		{"/proc/sys read-only", "echo x > /proc/sys/kernel/hostname && echo WROTE; hostname", func(out string) string {
			if strings.Contains(out, "WROTE") {
				return "/proc/sys/kernel/hostname was writable"
			}
			return ""
		}},
		{"/proc/sysrq-trigger read-only", "echo x > /proc/sysrq-trigger 2>/dev/null && echo WROTE; true", notContains("WROTE")},
		{"/sys read-only", "awk '$5 == \"/sys\" {print $6}' /proc/self/mountinfo", matches(`^ro[,\n]`)},
		{"/dev nodes", "cd /dev && ls -d null zero full random urandom tty ptmx", equals("full\nnull\nptmx\nrandom\ntty\nurandom\nzero\n")},
		{"/dev/null works", "echo x > /dev/null && head -c 4 /dev/zero | wc -c", equals("4\n")},
		{"/dev has no host disks", "ls /dev", notContains("vda")},
		{"CapEff is docker's default", "grep CapEff /proc/self/status", equals("CapEff:\t" + isolationCaps() + "\n")},
		{"CapBnd is docker's default", "grep CapBnd /proc/self/status", equals("CapBnd:\t" + isolationCaps() + "\n")},
		{"no new privs off, as docker", "grep NoNewPrivs /proc/self/status", equals("NoNewPrivs:\t0\n")},
		{"loopback up", "cat /sys/class/net/lo/operstate; ls /sys/class/net", func(out string) string {
			if strings.Contains(out, "eth") || strings.Contains(out, "ens") {
				return "host interfaces visible: " + out
			}
			return ""
		}},
		{"rootfs is writable", "echo ok > /tmp/f && cat /tmp/f", equals("ok\n")},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := inside(t, s, c.script)
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			if msg := c.check(r.stdout); msg != "" {
				t.Errorf("%s\n%v", msg, r)
			}
		})
	}
	if now, _ := os.Hostname(); now != hostName {
		t.Errorf("host hostname changed from %q to %q", hostName, now)
	}
}

func TestWritesDoNotReachTheImage(t *testing.T) {
	s := shared(t)
	s.must(t, "run", "--rm", fx.busybox, "sh", "-c", "rm /bin/ls; echo x > /etc/passwd")
	r := inside(t, s, "ls /bin/ls && head -1 /etc/passwd")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "/bin/ls\nroot:") {
		t.Errorf("a container's writes reached the image layer: %v", r)
	}
}

func equals(want string) func(string) string {
	return func(out string) string {
		if out != want {
			return fmt.Sprintf("got %q, want %q", out, want)
		}
		return ""
	}
}

func matches(re string) func(string) string {
	return func(out string) string {
		if !regexp.MustCompile(re).MatchString(out) {
			return fmt.Sprintf("got %q, want a match for %s", out, re)
		}
		return ""
	}
}

func notContains(bad string) func(string) string {
	return func(out string) string {
		if strings.Contains(out, bad) {
			return fmt.Sprintf("output contains %q", bad)
		}
		return ""
	}
}

// noHostMounts: mount points inside are the container's own, never the host's
// (/work, the cgroup process_api file, the test's temp dirs).
func noHostMounts(out string) string {
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := f[4]
		// Issue 16: /sys/fs/cgroup/<hierarchy> shows the container's own
		// cgroup (mount root /skiff/<id>), as docker's; a hierarchy's root
		// ("/") would be the host's whole tree.
		if strings.HasPrefix(mp, "/sys/fs/cgroup/") && strings.HasPrefix(f[3], "/skiff/") {
			continue
		}
		for _, bad := range []string{"/work", "/var/lib", "/home", workDir, "/sys/fs/cgroup/memory", "/run/skiff"} {
			if mp == bad || strings.HasPrefix(mp, bad+"/") {
				return "host mount point visible inside: " + line
			}
		}
		if strings.Contains(mp, "process_api") {
			return "host mount point visible inside: " + line
		}
	}
	return ""
}

// TestNoFdLeaks hands skiff extra open fds, as a careless caller might; the
// container must see only 0 1 2 and ls's own directory fd.
func TestNoFdLeaks(t *testing.T) {
	s := shared(t)
	var extra []*os.File
	for i := 0; i < 3; i++ {
		f, err := os.Open(workDir)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		extra = append(extra, f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := s.cmd(ctx, "run", "--rm", fx.busybox, "ls", "/proc/self/fd")
	c.ExtraFiles = extra // fds 3, 4, 5 in skiff
	out, err := c.Output()
	if err != nil {
		t.Fatalf("run: %v: %s", err, out)
	}
	if got := strings.Fields(string(out)); strings.Join(got, " ") != "0 1 2 3" {
		t.Errorf("fds inside: %q, want 0 1 2 3 (3 is ls's own)", got)
	}
	r := inside(t, s, "ls -l /proc/self/fd/")
	if strings.Contains(r.stdout, workDir) || strings.Contains(r.stdout, "/work/") || strings.Contains(r.stdout, "skiff") {
		t.Errorf("a host fd leaked into the container:\n%s", r.stdout)
	}
}

func TestSignalsReachTheContainer(t *testing.T) {
	s := shared(t)
	for _, c := range []struct {
		sig    syscall.Signal
		trap   string
		code   int
		settle time.Duration // between the container's first output and the signal
	}{
		{syscall.SIGTERM, "TERM", 42, 500 * time.Millisecond},
		{syscall.SIGINT, "INT", 43, 500 * time.Millisecond},
		{syscall.SIGHUP, "HUP", 44, 500 * time.Millisecond},
		// Once the container runs, a signal to skiff must reach it: a
		// skiff killed by it instead leaves the container orphaned.
		{syscall.SIGTERM, "TERM", 42, 0},
	} {
		t.Run(fmt.Sprintf("%v after %v", c.sig, c.settle), func(t *testing.T) {
			script := fmt.Sprintf(`trap "exit %d" %s; echo ready; sleep 20 & wait`, c.code, c.trap)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := s.cmd(ctx, "run", "--rm", fx.busybox, "sh", "-c", script)
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if err := waitLine(stdout, "ready", 20*time.Second); err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("container never said ready: %v", err)
			}
			time.Sleep(c.settle)
			start := time.Now()
			if err := cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			go io.Copy(io.Discard, stdout)
			err := cmd.Wait()
			var ee *exec.ExitError
			code := 0
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			if code != c.code {
				t.Errorf("exit %d after %v to skiff, want %d (the trap's)", code, c.sig, c.code)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v to stop", d)
			}
		})
	}
}

func waitLine(r io.Reader, want string, timeout time.Duration) error {
	found := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if strings.Contains(sc.Text(), want) {
				found <- nil
				return
			}
		}
		found <- fmt.Errorf("output ended without %q", want)
	}()
	select {
	case err := <-found:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("no %q within %v", want, timeout)
	}
}

// openPty returns a pty master and its slave.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, sl, err := testenv.OpenPty()
	if err != nil {
		t.Fatal(err)
	}
	return m, sl
}

// runOnPty runs skiff with a terminal as stdio, typing input, and returns
// everything the terminal showed and the exit status.
func runOnPty(t *testing.T, s *store, input string, args ...string) (string, int) {
	t.Helper()
	return runOnPtyWith(t, s, nil, func(master *os.File) {
		if input != "" {
			time.Sleep(500 * time.Millisecond) // let the container's shell start reading
			master.WriteString(input)
		}
	}, args...)
}

// runOnPtyWith runs skiff with a terminal of size ws (nil: the pty's own,
// 0x0) as stdio, calls during once it started, and returns the raw bytes
// the terminal received and the exit status.
func runOnPtyWith(t *testing.T, s *store, ws *unix.Winsize, during func(master *os.File), args ...string) (string, int) {
	t.Helper()
	master, slave := openPty(t)
	defer master.Close()
	if ws != nil {
		if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := s.cmd(ctx, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(master) // ends with EIO once the last slave fd closes
		out <- string(b)
	}()
	if during != nil {
		during(master)
	}
	err := cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-out:
		return s, code
	case <-time.After(10 * time.Second):
		return "(pty never closed)", code
	}
}

func TestTerminal(t *testing.T) {
	s := shared(t)
	t.Run("-t", func(t *testing.T) {
		out, code := runOnPty(t, s, "", "run", "--rm", "-t", fx.busybox, "sh", "-c", "[ -t 1 ] && echo is-a-tty; stty size")
		if code != 0 || !strings.Contains(out, "is-a-tty") {
			t.Errorf("exit %d, output %q; want is-a-tty", code, out)
		}
		if !strings.Contains(out, "\r\n") {
			t.Errorf("output %q not through a terminal (no \\r\\n)", out)
		}
	})
	t.Run("-it", func(t *testing.T) {
		out, code := runOnPty(t, s, "echo got-$((6*7))\nexit 5\n", "run", "--rm", "-it", fx.busybox, "sh")
		if code != 5 || !strings.Contains(out, "got-42") {
			t.Errorf("exit %d, output %q; want got-42 and exit 5", code, out)
		}
	})
	t.Run("-t without a terminal", func(t *testing.T) {
		r := s.skiff(nil, "run", "--rm", "-t", fx.busybox, "sh", "-c", "[ -t 1 ] && echo is-a-tty")
		if r.code != 0 || !strings.Contains(r.stdout, "is-a-tty") {
			t.Errorf("docker gives a pty with -t even when skiff's stdout is a pipe; %v", r)
		}
	})
}

// isolationCaps is docker's default capability set as skiff gives it: all
// of it where a cgroup holds the container to docker's device allow-list
// (the v1 devices list, or the eBPF device program on cgroup2), else
// without CAP_MKNOD (bit 27): stricter rather than looser
// (spec.Input.NoDeviceCgroup).
func isolationCaps() string {
	if cgroup.CanRestrictDevices() {
		return "00000000a80425fb"
	}
	return "00000000a00425fb"
}
