package e2e

// Issue 18, the escape classes of runc's 2025 advisories and their older
// kin, played against the real binary:
//
//   CVE-2025-31133  a masked path's /dev/null replaced by a symlink (to a
//                   procfs file or a host-looking path), from the image
//                   (copy-up into a volume on /dev) or raced by a second
//                   container sharing that volume
//   CVE-2025-52565  /dev/console a symlink
//   CVE-2025-52881  /proc swapped for something else: an image whose /proc
//                   or /sys is a symlink, a volume mounted on /proc
//   CVE-2022-0492   cgroup v1 release_agent: a default container can
//                   neither mount a cgroup hierarchy nor write the file
//   CVE-2024-21626  no fd of skiff's is open in a container (pid 1's, an
//                   exec'd process's)
//
// Every container only reads what an escape would have reached (a masked
// file showing core_pattern's content); none writes there, so a regression
// shows as a failed assertion, never as a changed host. The host's
// core_pattern and a canary file are checked unchanged after each test.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/internal/testenv"
)

const i18cveCorePattern = "/proc/sys/kernel/core_pattern"

// i18cveImageSet are busybox images with hostile layouts.
type i18cveImageSet struct {
	devLinks  string // /dev/null and /dev/console -> core_pattern; /i18target holds a known line
	hostLinks string // /dev/null and /dev/console -> the host's canary path
	procLink  string // /proc -> /i18proc
	sysLink   string // /sys -> /i18sys
}

const i18cveTargetLine = "image target: must not be masked\n"

var (
	i18cveOnce   sync.Once
	i18cveImages i18cveImageSet
	i18cveErr    error
)

// i18cveCanary is a host file every hostile link of hostLinks names: it
// must keep its content, as the host's core_pattern must.
func i18cveCanary() string { return filepath.Join(workDir, "i18cve-canary") }

const i18cveCanaryContent = "canary: must not change\n"

func i18cveImage(t *testing.T) i18cveImageSet {
	t.Helper()
	i18cveOnce.Do(func() { i18cveImages, i18cveErr = i18cvePushImages() })
	if i18cveErr != nil {
		t.Fatalf("pushing the test images: %v", i18cveErr)
	}
	return i18cveImages
}

func i18cvePushImages() (i18cveImageSet, error) {
	bb, err := testenv.BusyboxImage()
	if err != nil {
		return i18cveImageSet{}, err
	}
	at := func(name string) string { return reg.Addr + "/i18cve/" + name + ":latest" }
	var set i18cveImageSet
	for _, img := range []struct {
		ref   *string
		name  string
		files []testenv.File
	}{
		{&set.devLinks, "devlinks", []testenv.File{
			testenv.Symlink("dev/null", i18cveCorePattern), testenv.Symlink("dev/console", i18cveCorePattern),
			testenv.Reg("i18target", i18cveTargetLine),
		}},
		{&set.hostLinks, "hostlinks", []testenv.File{
			testenv.Symlink("dev/null", i18cveCanary()), testenv.Symlink("dev/console", i18cveCanary()),
		}},
		{&set.procLink, "proclink", []testenv.File{testenv.Dir("i18proc"), testenv.Symlink("proc", "/i18proc")}},
		{&set.sysLink, "syslink", []testenv.File{testenv.Dir("i18sys"), testenv.Symlink("sys", "/i18sys")}},
	} {
		if *img.ref, err = pushOnBusybox(bb, at(img.name), img.files); err != nil {
			return set, fmt.Errorf("%s: %w", img.name, err)
		}
	}
	return set, nil
}

// i18cveHostUnchanged fails the test when the host's core_pattern or the
// canary changed since before.
func i18cveHostUnchanged(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(i18cveCanary(), []byte(i18cveCanaryContent), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(i18cveCorePattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if now, _ := os.ReadFile(i18cveCorePattern); string(now) != string(before) {
			t.Errorf("the host's core_pattern changed: %q, was %q", now, before)
		}
		if now, err := os.ReadFile(i18cveCanary()); err != nil || string(now) != i18cveCanaryContent {
			t.Errorf("the host's canary changed: %q (%v)", now, err)
		}
	})
}

// i18cveMaskCheck is the script that reports every masked /proc file of
// docker's list that exists: its type and device numbers, and its size
// when read. The real mask is the null device, 1:3, empty.
const i18cveMaskCheck = `for f in kcore keys timer_list sched_debug latency_stats interrupts; do
  [ -e /proc/$f ] || continue
  echo "$f $(stat -c %F:%t:%T /proc/$f) $(wc -c < /proc/$f)"
done`

// i18cveMasksReal fails unless every line of i18cveMaskCheck's output is a
// real mask.
func i18cveMasksReal(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("no masked /proc file found:\n%s", out)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 3 || !strings.HasSuffix(f[len(f)-2], ":1:3") || f[len(f)-1] != "0" {
			t.Errorf("a masked path is not the null device: %q", l)
		}
	}
}

// i18cveStartsOrFailsCleanly checks one start of a hostile layout: either
// skiff refused it (125, one error line) or it ran and check passes.
func i18cveStartsOrFailsCleanly(t *testing.T, r result, check func(out string)) {
	t.Helper()
	if r.code == 0 {
		check(r.stdout)
		return
	}
	runError(t, r, 125)
}

// i18cveVolume is a fresh named volume, removed at the test's end.
func i18cveVolume(t *testing.T, s *store) string {
	t.Helper()
	name := "i18cve-" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-"))
	if len(name) > 60 {
		name = name[:60]
	}
	s.skiff(nil, "volume", "rm", "-f", name)
	s.must(t, "volume", "create", name)
	t.Cleanup(func() { s.skiff(nil, "volume", "rm", "-f", name) })
	return name
}

// TestI18CVEDevNullSymlink is CVE-2025-31133: the /dev/null that masks
// /proc/kcore and friends is a symlink to a procfs file (core_pattern,
// which is not namespaced) or to a host-looking path. docker's /dev tmpfs
// hides the image's /dev; a volume on /dev brings the link in (copy-up
// from the image, or a second container writing it).
func TestI18CVEDevNullSymlink(t *testing.T) {
	s := shared(t)
	img := i18cveImage(t)
	i18cveHostUnchanged(t)
	t.Run("docker's /dev hides the image's", func(t *testing.T) {
		for _, ref := range []string{img.devLinks, img.hostLinks} {
			r := s.skiff(nil, "run", "--rm", "--network", "none", ref, "sh", "-c", "stat -c %F:%t:%T /dev/null; "+i18cveMaskCheck)
			if r.code != 0 {
				t.Fatalf("%s: %v", ref, r)
			}
			devNull, masks, _ := strings.Cut(r.stdout, "\n")
			if devNull != "character special file:1:3" {
				t.Errorf("%s: /dev/null is not the null device:\n%s", ref, r.stdout)
			}
			i18cveMasksReal(t, masks)
		}
	})
	for _, tc := range []struct {
		name, target string
	}{
		{"copy-up of a link to core_pattern", i18cveCorePattern},
		{"copy-up of a link to a host path", i18cveCanary()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := img.devLinks
			if tc.target != i18cveCorePattern {
				ref = img.hostLinks
			}
			vol := i18cveVolume(t, s)
			r := s.skiff(nil, "run", "--rm", "--network", "none", "-v", vol+":/dev", ref, "sh", "-c",
				"readlink /dev/null; "+i18cveMaskCheck)
			i18cveStartsOrFailsCleanly(t, r, func(out string) {
				if !strings.HasPrefix(out, tc.target+"\n") {
					t.Fatalf("the volume's /dev/null is not the image's link (copy-up?): %v", r)
				}
				i18cveMasksReal(t, strings.TrimPrefix(out, tc.target+"\n"))
			})
			if r.code != 0 && !strings.Contains(r.stderr, "/dev/null") {
				t.Errorf("the error does not name /dev/null: %v", r)
			}
		})
	}
	t.Run("a second container writes the link", func(t *testing.T) {
		vol := i18cveVolume(t, s)
		s.must(t, "run", "--rm", "--network", "none", "-v", vol+":/x", fx.busybox, "ln", "-s", i18cveCorePattern, "/x/null")
		r := s.skiff(nil, "run", "--rm", "--network", "none", "-v", vol+":/dev", fx.busybox, "sh", "-c", i18cveMaskCheck)
		i18cveStartsOrFailsCleanly(t, r, func(out string) { i18cveMasksReal(t, out) })
	})
}

// TestI18CVEDevNullRace races CVE-2025-31133: a second container sharing
// the volume that is a starting container's /dev swaps /dev/null between
// the null device and a link to core_pattern as fast as it can (rename
// over it, so the name always exists), while containers start on that
// volume. What it can race: the window between the init's device setup
// (which keeps an existing /dev/null) and the masks, which open /dev/null
// once and bind from that fd. What it cannot: hit that window on demand
// (each start is one try), or reach a container whose /dev is docker's own
// tmpfs (no other container can see it), or swap a masked target itself
// (they are procfs and sysfs files, which no container writes). Every
// start must either fail cleanly or mask with the real null device.
func TestI18CVEDevNullRace(t *testing.T) {
	s := shared(t)
	i18cveImage(t)
	i18cveHostUnchanged(t)
	vol := i18cveVolume(t, s)
	racer := s.runD(t, "--network", "none", "-v", vol+":/x", fx.busybox, "sh", "-c",
		`mknod /x/null c 1 3; while :; do ln -s `+i18cveCorePattern+` /x/.l; mv -f /x/.l /x/null; mknod /x/.d c 1 3; mv -f /x/.d /x/null; done`)
	_ = racer
	deadline := time.Now().Add(40 * time.Second)
	starts, refused := 0, 0
	for i := 0; i < 12 && time.Now().Before(deadline); i++ {
		r := s.skiff(nil, "run", "--rm", "--network", "none", "-v", vol+":/dev", fx.busybox, "sh", "-c", i18cveMaskCheck)
		starts++
		if r.code != 0 {
			refused++
		}
		i18cveStartsOrFailsCleanly(t, r, func(out string) { i18cveMasksReal(t, out) })
	}
	t.Logf("%d starts against the racer, %d refused", starts, refused)
}

// TestI18CVEMaskedTargetLinks: the masked paths themselves reached through
// a symlink. An image whose /proc or /sys is a symlink would put procfs or
// sysfs (and the masks, and /proc's read-only paths) wherever it points; a
// volume on /proc would make every masked path the volume's own entry, a
// link the masks would follow. docker (runc) refuses both: procfs and
// sysfs only on an ordinary directory, nothing mounted on or under /proc.
func TestI18CVEMaskedTargetLinks(t *testing.T) {
	s := shared(t)
	img := i18cveImage(t)
	i18cveHostUnchanged(t)
	for _, ref := range []string{img.procLink, img.sysLink} {
		t.Run(ref, func(t *testing.T) {
			r := s.skiff(nil, "run", "--rm", "--network", "none", ref, "sh", "-c", "readlink /proc /sys; "+i18cveMaskCheck)
			runError(t, r, 125)
			if !strings.Contains(r.stderr, "must be mounted on ordinary directory") {
				t.Errorf("want runc's refusal of a link under procfs or sysfs; %v", r)
			}
		})
	}
	t.Run("a volume on /proc whose masked entries are links", func(t *testing.T) {
		vol := i18cveVolume(t, s)
		s.must(t, "run", "--rm", "--network", "none", "-v", vol+":/x", fx.busybox, "sh", "-c",
			"for f in kcore keys timer_list sched_debug; do ln -s /etc/passwd /x/$f; done")
		r := s.skiff(nil, "run", "--rm", "--network", "none", "-v", vol+":/proc", fx.busybox, "sh", "-c", "wc -c < /etc/passwd")
		runError(t, r, 125)
		if !strings.Contains(r.stderr, "cannot be mounted because it is not of type proc") {
			t.Errorf("want runc's refusal of a mount on /proc; %v", r)
		}
	})
}

// TestI18CVEConsoleSymlink is CVE-2025-52565: the image's /dev/console is
// a symlink (to core_pattern, to a host path). With -t the pty is bound on
// the container's own /dev/console, never on what a link names.
func TestI18CVEConsoleSymlink(t *testing.T) {
	s := shared(t)
	img := i18cveImage(t)
	i18cveHostUnchanged(t)
	for _, ref := range []string{img.devLinks, img.hostLinks} {
		t.Run(ref, func(t *testing.T) {
			r := s.skiff(nil, "run", "--rm", "-t", "--network", "none", ref, "sh", "-c",
				"stat -c %F:%t /dev/console; readlink /dev/console; cat "+i18cveCorePattern+"; cat /i18target 2>/dev/null; true")
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			out := strings.ReplaceAll(r.stdout, "\r\n", "\n")
			// 0x88 = 136, the pty slaves' major.
			if !strings.HasPrefix(out, "character special file:88\n") {
				t.Errorf("/dev/console is not the container's pty:\n%s", out)
			}
			host, _ := os.ReadFile(i18cveCorePattern)
			if !strings.Contains(out, string(host)) {
				t.Errorf("core_pattern inside is not the kernel's %q:\n%s", host, out)
			}
			if ref == img.devLinks && !strings.Contains(out, i18cveTargetLine) {
				t.Errorf("/i18target lost its content:\n%s", out)
			}
		})
	}
	// A volume on /dev (a second container wrote the link there) leaves
	// no devpts, so -t needs one bound too: the host's /dev/pts, as a user
	// may. The pty must not land on what the link names (/etc/hostname).
	t.Run("a volume on /dev whose console is a link", func(t *testing.T) {
		vol := i18cveVolume(t, s)
		s.must(t, "run", "--rm", "--network", "none", "-v", vol+":/x", fx.busybox, "ln", "-s", "/etc/hostname", "/x/console")
		r := s.skiff(nil, "run", "--rm", "-t", "--network", "none", "-v", vol+":/dev", "-v", "/dev/pts:/dev/pts", fx.busybox, "sh", "-c",
			"stat -c %F /etc/hostname; readlink /dev/console")
		i18cveStartsOrFailsCleanly(t, r, func(out string) {
			if out := strings.ReplaceAll(out, "\r\n", "\n"); out != "regular file\n/etc/hostname\n" {
				t.Errorf("the pty landed on what /dev/console's link names: %v", r)
			}
		})
		if r.code != 0 && !strings.Contains(r.stderr, "/dev/console") {
			t.Errorf("the error does not name /dev/console: %v", r)
		}
	})
}

// TestI18CVEReleaseAgent is CVE-2022-0492: a default container cannot get
// at a cgroup v1 release_agent. It cannot mount a hierarchy (no
// CAP_SYS_ADMIN, and seccomp refuses mount), cannot make a user namespace
// to gain one there (seccomp refuses unshare), and the hierarchies it sees
// are its own cgroup's directories, read-only, without release_agent.
func TestI18CVEReleaseAgent(t *testing.T) {
	s := shared(t)
	i18cveHostUnchanged(t)
	script := `mkdir -p /mnt/cg
mount -t cgroup -o rdma cgroup /mnt/cg 2>/dev/null && echo MOUNTED-RDMA
mount -t cgroup -o memory cgroup /mnt/cg 2>/dev/null && echo MOUNTED-MEMORY
unshare -U -r -m sh -c 'echo USERNS; mount -t cgroup -o memory cgroup /mnt/cg && echo MOUNTED-USERNS' 2>/dev/null
find /sys/fs/cgroup -name release_agent | grep -q . && echo HAS-RELEASE-AGENT
for f in $(find /sys/fs/cgroup -maxdepth 2 -name notify_on_release); do (echo 1 > $f) 2>/dev/null && echo WROTE-$f; done
awk '$5 ~ "^/sys/fs/cgroup" && $6 !~ "^ro" {print "RW " $5}' /proc/self/mountinfo
echo done`
	r := s.skiff(nil, "run", "--rm", "--network", "none", fx.busybox, "sh", "-c", script)
	if r.code != 0 || !strings.HasSuffix(r.stdout, "done\n") {
		t.Fatalf("%v", r)
	}
	if out := strings.TrimSuffix(r.stdout, "done\n"); out != "" {
		t.Errorf("a default container reached a cgroup v1 release_agent's preconditions:\n%s", out)
	}
	// The control: seccomp is what refused the user namespace (the
	// script's unshare works without it), and the kernel still refuses a
	// cgroup v1 mount from a user namespace of its own (its 2022 fix).
	r = s.skiff(nil, "run", "--rm", "--network", "none", "--security-opt", "seccomp=unconfined", fx.busybox, "sh", "-c",
		`mkdir -p /mnt/cg; unshare -U -r -m sh -c 'echo USERNS; mount -t cgroup -o memory cgroup /mnt/cg && echo MOUNTED-USERNS' 2>/dev/null; true`)
	if !strings.Contains(r.stdout, "USERNS\n") {
		t.Logf("no user namespace even without seccomp (the kernel forbids them here): %v", r)
	}
	if strings.Contains(r.stdout, "MOUNTED") {
		t.Errorf("a cgroup v1 hierarchy was mounted from a user namespace: %v", r)
	}
}

// TestI18CVENoSkiffFds is CVE-2024-21626's class: no fd of skiff's (the
// sealed binary, the sync socket, the init's directories, the runtime's
// cgroup files) and none of its caller's is open in a container. pid 1 has
// 0, 1 and 2 only, an exec'd process 0, 1, 2 and its listing's own. With
// --init pid 1 is skiff-init, a Go program: beyond 0, 1 and 2 it may hold
// only its runtime's poller (an epoll and an eventfd, which lead nowhere),
// and the container cannot read its links (it is not dumpable). skiff is
// handed an extra fd without close-on-exec, as a careless caller would.
func TestI18CVENoSkiffFds(t *testing.T) {
	s := shared(t)
	stray, err := os.Open(workDir)
	if err != nil {
		t.Fatal(err)
	}
	defer stray.Close()
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"plain", nil}, {"--init", []string{"--init"}}, {"-t", []string{"-t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"run", "-d", "--network", "none"}, tc.flags...), fx.busybox, "sleep", "60")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c := s.cmd(ctx, args...)
			// fds 3 to 5 in skiff, not close-on-exec; the monitor's own
			// fds 3 and 4 replace the first two in it, 5 would pass on.
			c.ExtraFiles = []*os.File{stray, stray, stray}
			out, err := c.Output()
			if err != nil {
				t.Fatalf("run -d: %v: %s", err, out)
			}
			id := strings.TrimSpace(string(out))
			s.cleanup(t, id)
			pid1 := strings.Fields(s.must(t, "exec", id, "ls", "/proc/1/fd").stdout)
			if tc.name == "--init" {
				i18cveInitFds(t, s, id, pid1)
			} else if got := strings.Join(pid1, " "); got != "0 1 2" {
				t.Errorf("pid 1's fds: %q, want 0 1 2", got)
			}
			self := s.must(t, "exec", id, "ls", "/proc/self/fd").stdout
			if got := strings.Join(strings.Fields(self), " "); got != "0 1 2 3" {
				t.Errorf("an exec'd process's fds: %q, want 0 1 2 3 (3 is ls's own)", got)
			}
			long := s.skiff(nil, "exec", id, "ls", "-l", "/proc/1/fd", "/proc/self/fd")
			for _, bad := range []string{"skiff", workDir, s.root, s.runroot, "/work/", "cgroup"} {
				if strings.Contains(long.stdout, bad) {
					t.Errorf("a host fd (%s) is open in the container:\n%s", bad, long.stdout)
				}
			}
		})
	}
}

// i18cveInitFds checks a --init container's pid 1 (listed inside as fds)
// from the host: 0, 1, 2 and the Go runtime's poller only, none of whose
// links the container can read.
func i18cveInitFds(t *testing.T, s *store, id string, fds []string) {
	t.Helper()
	pid := s.inspect(t, id).State.Pid
	poller := map[string]bool{"anon_inode:[eventpoll]": true, "anon_inode:[eventfd]": true}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd))
		if err != nil {
			continue // closed since the listing
		}
		if fd != "0" && fd != "1" && fd != "2" && !poller[link] {
			t.Errorf("skiff-init (pid 1) holds fd %s -> %s", fd, link)
		}
	}
	if r := s.skiff(nil, "exec", id, "readlink", "/proc/1/fd/0"); r.code == 0 {
		t.Errorf("the container reads skiff-init's fd links: %v", r)
	}
}

// TestI18CVEStdioChown: for a non-root user the init gives the container's
// stdio to that user, leaving the null device alone. Told which device is
// null by the container's own /dev/null, a link there (a volume on /dev,
// no masks to refuse it) made it chown the host's /dev/null, the init's
// stdin, to the container's user.
func TestI18CVEStdioChown(t *testing.T) {
	s := shared(t)
	i18cveHostUnchanged(t)
	var before unix.Stat_t
	if err := unix.Stat("/dev/null", &before); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var after unix.Stat_t
		if err := unix.Stat("/dev/null", &after); err != nil || after.Uid != before.Uid || after.Gid != before.Gid {
			t.Errorf("the host's /dev/null changed owner: %d:%d, was %d:%d (%v); restored", after.Uid, after.Gid, before.Uid, before.Gid, err)
			os.Chown("/dev/null", int(before.Uid), int(before.Gid))
		}
	})
	vol := i18cveVolume(t, s)
	s.must(t, "run", "--rm", "--network", "none", "-v", vol+":/x", fx.busybox, "ln", "-s", "/etc/hostname", "/x/null")
	id := s.runD(t, "--network", "none", "-u", "1000", "--security-opt", "systempaths=unconfined", "-v", vol+":/dev", fx.busybox, "sleep", "30")
	s.waitStatus(t, id, "running", 10*time.Second)
}

// TestI18CVEWorkdirProcFd is CVE-2024-21626's other half: a working
// directory of /proc/self/fd/N enters whatever directory the init's fd N
// is. Every N the init could hold is tried, for run and for exec: each
// start fails cleanly or works inside the container, never in a host
// directory.
func TestI18CVEWorkdirProcFd(t *testing.T) {
	s := shared(t)
	id := s.runD(t, "--network", "none", fx.busybox, "sleep", "60")
	for fd := 3; fd <= 12; fd++ {
		wd := fmt.Sprintf("/proc/self/fd/%d", fd)
		for _, args := range [][]string{
			{"run", "--rm", "--network", "none", "-w", wd, fx.busybox, "sh", "-c", "pwd; ls"},
			{"exec", "-w", wd, id, "sh", "-c", "pwd; ls"},
		} {
			r := s.skiff(nil, args...)
			if r.code == 0 && (!strings.HasPrefix(r.stdout, "/") || strings.Contains(r.stdout, "(unreachable)")) {
				t.Errorf("%s -w %s ran outside the container: %v", args[0], wd, r)
			}
			if r.code != 0 && (r.code < 125 || strings.Contains(strings.TrimSpace(r.stderr), "\n")) {
				t.Errorf("%s -w %s: %v", args[0], wd, r)
			}
		}
	}
}
