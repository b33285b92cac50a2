package e2e

// Issue 20's rootless tests of limits, network and security: ignored
// limits warn once and the container runs; published ports are refused
// until rootless networking exists, a container has only loopback;
// container root reads no host file the user cannot, makes no device
// node; the rootful store is left alone; and a user without subordinate
// ids gets the single-id mapping with its warning.

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// A limit on a host where none can hold (cgroup v1, or no delegation):
// one WARNING line naming the flag, and the container runs.
func i20e2eLimits(t *testing.T, u *i20e2eUser) {
	bb := i20e2eBusybox(t, u)
	r := u.st.skiff(nil, "run", "--rm", "--memory", "64m", bb, "echo", "ran")
	if r.code != 0 || r.stdout != "ran\n" {
		t.Fatalf("run --memory 64m: want it to run; %v", r)
	}
	w := i20e2eWarnings(r.stderr)
	want := "WARNING: Resource limits are not supported and ignored "
	if strings.Contains(u.st.must(t, "info").stdout, "Cgroup Version: 1\n") {
		want += "on cgroups V1 rootless systems: --memory" // podman's sentence
	}
	if len(w) != 1 || !strings.HasPrefix(w[0], want) || !strings.HasSuffix(w[0], ": --memory") {
		t.Errorf("want one warning line %q...: --memory; %v", want, r)
	}
}

// none and host run; with none a container's own namespace has only lo,
// up. The default network, bridge by name and -p are issue 21's (tapnet:
// i21_rootless_net_test.go).
func i20e2eNetwork(t *testing.T, u *i20e2eUser) {
	bb := i20e2eBusybox(t, u)
	before := u.st.must(t, "ps", "-aq").stdout
	for _, flags := range [][]string{{"--network", "none"}} {
		t.Run(fmt.Sprint("interfaces ", flags), func(t *testing.T) {
			r := u.st.must(t, append(append([]string{"run", "--rm"}, flags...), bb, "cat", "/proc/net/dev")...)
			if got := i14e2eProcNetDev(r.stdout); len(got) != 1 || got[0] != "lo" {
				t.Errorf("interfaces %v, want only lo; %v", got, r)
			}
			r = u.st.must(t, append(append([]string{"run", "--rm"}, flags...), bb, "ip", "-o", "link", "show", "lo")...)
			if !strings.Contains(r.stdout, ",UP") {
				t.Errorf("lo is not up: %v", r)
			}
		})
	}
	t.Run("--network host", func(t *testing.T) {
		r := u.st.must(t, "run", "--rm", "--network", "host", bb, "cat", "/proc/net/dev")
		// The caller's namespace as a process started like skiff sees it:
		// the test binary's /proc/net follows its main thread, which a
		// namespace helper may have left in another namespace.
		own, err := u.cmdOut("cat", "/proc/net/dev")
		if err != nil {
			t.Fatalf("cat /proc/net/dev as the user: %v: %s", err, own)
		}
		if got, want := i14e2eProcNetDev(r.stdout), i14e2eProcNetDev(own); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("--network host: interfaces %v, want the caller's %v", got, want)
		}
	})
	if after := u.st.must(t, "ps", "-aq").stdout; after != before {
		t.Errorf("run --rm left containers: ps -aq %q, was %q", after, before)
	}
}

// Container root cannot read a root-owned 0600 host file bound into the
// container: it is the user on the host.
func i20e2eHostSecret(t *testing.T, u *i20e2eUser) {
	dir, err := os.MkdirTemp("", "skiff-i20-secret-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := fmt.Sprintf("host-secret-%d", rand.Int64())
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := u.cmdOut("cat", file); err == nil || strings.Contains(out, secret) {
		t.Fatalf("the user itself reads %s (%v: %s): the test needs a file it cannot read", file, err, out)
	}
	for _, flags := range [][]string{nil, {"--cap-add", "ALL"}, {"--privileged"}} {
		t.Run(fmt.Sprint(flags), func(t *testing.T) {
			args := append(append([]string{"run", "--rm", "-v", file + ":/secret"}, flags...), i20e2eBusybox(t, u), "sh", "-c", "echo started; cat /secret")
			r := u.st.skiff(nil, args...)
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Fatalf("container root read the host's 0600 root file: %v", r)
			}
			if r.code == 0 || r.stdout != "started\n" || !strings.Contains(r.stderr, "Permission denied") {
				t.Errorf("want the container to start and its cat to fail with Permission denied; %v", r)
			}
		})
	}
}

// mknod of a real device fails inside, whatever the flags.
func i20e2eMknod(t *testing.T, u *i20e2eUser) {
	for _, flags := range [][]string{nil, {"--cap-add", "MKNOD"}, {"--privileged"}} {
		t.Run(fmt.Sprint(flags), func(t *testing.T) {
			args := append(append([]string{"run", "--rm"}, flags...), i20e2eBusybox(t, u), "sh", "-c", "echo started; mknod /tmp/mem c 1 1 && head -c 16 /tmp/mem | od")
			r := u.st.skiff(nil, args...)
			if r.code == 0 || r.stdout != "started\n" || !strings.Contains(r.stderr, "not permitted") {
				t.Errorf("want the container to start and its mknod to fail with Operation not permitted; %v", r)
			}
		})
	}
}

// i20e2eRootful is what the rootful store held: paths and mtimes of its
// entries down to two levels (layers/ID, containers/ID, ...).
type i20e2eRootful map[string]string

const i20e2eRootfulRoot = "/var/lib/skiff"

func i20e2eRootfulSnapshot(t *testing.T) i20e2eRootful {
	t.Helper()
	snap := i20e2eRootful{}
	for _, pat := range []string{"", "*", "*/*"} {
		paths, _ := filepath.Glob(filepath.Join(i20e2eRootfulRoot, pat))
		for _, p := range paths {
			if fi, err := os.Lstat(p); err == nil {
				snap[p] = fmt.Sprintf("%v %v", fi.Mode(), fi.ModTime().UnixNano())
			}
		}
	}
	return snap
}

// The rootful store as before the rootless tests, with no file of the
// user's ids anywhere in it or in /run/skiff, and the user's store elsewhere.
func i20e2eRootfulCheck(t *testing.T, u *i20e2eUser, before i20e2eRootful) {
	after := i20e2eRootfulSnapshot(t)
	var changed []string
	for p, v := range before {
		if after[p] != v {
			changed = append(changed, fmt.Sprintf("%s: %q, was %q", p, after[p], v))
		}
	}
	for p, v := range after {
		if _, ok := before[p]; !ok {
			changed = append(changed, fmt.Sprintf("%s: new, %q", p, v))
		}
	}
	sort.Strings(changed)
	if len(changed) > 0 {
		t.Errorf("the rootful store %s changed during the rootless tests:\n%s", i20e2eRootfulRoot, strings.Join(changed, "\n"))
	}
	for _, root := range []string{i20e2eRootfulRoot, "/run/skiff"} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return nil
			}
			if st := fi.Sys().(*syscall.Stat_t); u.owns(int(st.Uid)) || u.owns(int(st.Gid)) {
				t.Errorf("%s is owned by %d:%d, one of the rootless user's ids", p, st.Uid, st.Gid)
			}
			return nil
		})
	}
	if strings.HasPrefix(u.st.root, i20e2eRootfulRoot) || !strings.HasPrefix(u.st.root, u.home+"/") {
		t.Errorf("the rootless store is %s, want it in the user's home %s", u.st.root, u.home)
	}
}

// A user without subordinate ids: each command entering the namespace
// warns once, naming the usermod command; an image of root's files pulls
// and runs; one with files of other ids is refused clearly, leaving
// nothing.
func TestI20RootlessNoRanges(t *testing.T) {
	u := i20e2eNewUser(t, false)
	imgs := i20e2eImages(t)
	single := func(t *testing.T, r result) {
		t.Helper()
		w := i20e2eWarnings(r.stderr)
		if len(w) != 1 || !strings.Contains(w[0], "single-id") || !strings.Contains(w[0], "usermod --add-subuids ") ||
			!strings.Contains(w[0], " --add-subgids ") || !strings.Contains(w[0], u.name) {
			t.Errorf("want one WARNING line on the single-id mapping naming usermod --add-subuids ... --add-subgids ... %s; %v", u.name, r)
		}
	}
	t.Run("root-only image", func(t *testing.T) {
		r := u.st.skiff(nil, "pull", imgs.rootOnly)
		if r.code != 0 {
			t.Fatalf("pull: %v", r)
		}
		single(t, r)
		r = u.st.skiff(nil, "run", "--rm", imgs.rootOnly, "sh", "-c", "echo works; id -u; stat -c %u:%g /home/app")
		if r.code != 0 || r.stdout != "works\n0\n0:0\n" {
			t.Errorf("run: want works, 0, 0:0; %v", r)
		}
		single(t, r)
	})
	t.Run("image with other ids", func(t *testing.T) {
		r := u.st.skiff(nil, "pull", fx.busybox) // /home/app is 1000:1000
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		last := lines[len(lines)-1]
		if r.code == 0 || !strings.HasPrefix(last, "skiff:") || !strings.Contains(last, "1000") ||
			!strings.Contains(last, "not mapped") || !strings.Contains(last, "/etc/sub") {
			t.Errorf("want a skiff: line saying id 1000 is not mapped and naming /etc/subuid or /etc/subgid; %v", r)
		}
		if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "lchown") {
			t.Errorf("stderr shows a raw error: %v", r)
		}
		if i20e2eHasImage(t, u, fx.busybox) {
			t.Errorf("the refused image is in the store")
		}
		if left := u.st.tmpDirs(t); len(left) > 0 {
			t.Errorf("the refused pull left %v in layers/.tmp", left)
		}
	})
}

// A range the kernel would refuse (it holds the user's own uid, which is
// root in the namespace) is named before a pull starts: one line, nothing
// downloaded.
func TestI20RootlessBadRange(t *testing.T) {
	u := i20e2eNewUser(t, false)
	i20e2eRun(t, "usermod", "--add-subuids", fmt.Sprintf("%d-%d", u.uid, u.uid), "--add-subgids", fmt.Sprintf("%d-%d", u.gid, u.gid), u.name)
	r := u.st.skiff(nil, "pull", fx.busybox)
	oneLineError(t, r, 1)
	if want := fmt.Sprintf("include the user's own uid %d", u.uid); !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "/etc/subuid") {
		t.Errorf("want the error to say the range in /etc/subuid %s; %v", want, r)
	}
	if r.stdout != "" {
		t.Errorf("the pull started: %v", r)
	}
	if _, err := os.Stat(filepath.Join(u.st.root, "blobs")); err == nil {
		t.Errorf("the refused pull made %s/blobs", u.st.root)
	}
}
