package ns

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// startInNamespaces runs a busybox shell in new uts and net namespaces
// with hostname name, and returns once the hostname is set.
func startInNamespaces(t *testing.T, name string) *exec.Cmd {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("joining namespaces needs root")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs /bin/busybox")
	}
	cmd := exec.Command("/bin/busybox", "sh", "-c", "hostname "+name+" && echo ready && exec sleep 30")
	// No Pdeathsig: it fires when the forking *thread* ends, and joins end
	// threads. Cleanup kills it; if the test dies, sleep 30 ends it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS | unix.CLONE_NEWNET}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("the namespaced process did not start: %q", line)
	}
	return cmd
}

func hostname() string {
	var u unix.Utsname
	unix.Uname(&u)
	return unix.ByteSliceToString(u.Nodename[:])
}

func TestOnJoinedThread(t *testing.T) {
	cmd := startInNamespaces(t, "joined-test")
	ours := hostname()
	target, err := Open(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	wantNet, _ := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/net")
	var gotHost, gotNet string
	err = target.OnJoinedThread(unix.CLONE_NEWUTS|unix.CLONE_NEWNET, func() error {
		gotHost = hostname()
		gotNet, _ = os.Readlink("/proc/thread-self/ns/net")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if gotHost != "joined-test" || gotNet != wantNet || !strings.HasPrefix(gotNet, "net:") {
		t.Fatalf("joined thread: hostname %q net %q; want joined-test %q", gotHost, gotNet, wantNet)
	}
	// The joined thread is thrown away: no other thread is in the namespace.
	for i := 0; i < 20; i++ {
		if h := hostname(); h != ours {
			t.Fatalf("hostname %q after the join, want ours %q", h, ours)
		}
	}
}

// A pidfd pins the process: once it exits, Join fails instead of joining
// whatever process gets the pid next.
func TestJoinExitedProcess(t *testing.T) {
	cmd := startInNamespaces(t, "gone-test")
	target, err := Open(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	cmd.Process.Kill()
	cmd.Wait()
	err = target.OnJoinedThread(unix.CLONE_NEWUTS, func() error { return nil })
	if err == nil {
		t.Fatal("joined the namespaces of an exited process")
	}
}

// The /proc/<pid>/ns fallback (kernels without setns on a pidfd) joins
// the same namespaces.
func TestJoinFiles(t *testing.T) {
	cmd := startInNamespaces(t, "files-test")
	target, err := Open(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	var got string
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- err
			return
		}
		err := target.joinFiles(unix.CLONE_NEWUTS | unix.CLONE_NEWNET)
		got = hostname()
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got != "files-test" {
		t.Fatalf("hostname %q after joining by ns files, want files-test", got)
	}
}

// The main thread is the one /proc/self names and Go cannot end: a join
// must never land there, or the whole process would read the container's
// mountinfo and root from then on. Many joins in a row give the scheduler
// every chance to put one on it.
func TestOnJoinedThreadSparesTheMainThread(t *testing.T) {
	cmd := startInNamespaces(t, "main-thread-test")
	ours := hostname()
	leaderNet := func() string { l, _ := os.Readlink("/proc/self/ns/net"); return l }
	wantLeader := leaderNet()
	target, err := Open(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	runtime.GOMAXPROCS(1) // fewer threads: the main one is picked more often
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for i := 0; i < 300; i++ {
		onMain := false
		err := target.OnJoinedThread(unix.CLONE_NEWUTS|unix.CLONE_NEWNET, func() error {
			onMain = unix.Gettid() == unix.Getpid()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if onMain || leaderNet() != wantLeader {
			t.Fatalf("join %d ran on the main thread: the process's net namespace is now %s", i, leaderNet())
		}
	}
	if h := hostname(); h != ours {
		t.Fatalf("hostname %q after the joins, want ours %q", h, ours)
	}
}
