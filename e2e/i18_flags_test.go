package e2e

// Issue 18, flags: the privilege and namespace flags of run as the
// container's processes see them (capabilities, mounts, groups, limits,
// sysctls, /dev/shm, shared pid/ipc/uts namespaces), docker's refusals,
// and inspect's HostConfig.

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// i18flagsRun is `run --rm busybox sh -c script` with flags.
func i18flagsRun(s *store, flags []string, script string) result {
	args := append([]string{"run", "--rm"}, flags...)
	return s.skiff(nil, append(args, fx.busybox, "sh", "-c", script)...)
}

// i18flagsCap is a capability set line ("CapEff") of /proc/self/status text.
func i18flagsCap(t *testing.T, status, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `:\s*([0-9a-f]+)$`).FindStringSubmatch(status)
	if m == nil {
		t.Fatalf("no %s in %q", name, status)
	}
	return m[1]
}

// TestI18FlagsMount: mount needs CAP_SYS_ADMIN and a seccomp profile that
// lets it through: refused by default, allowed with --privileged and with
// --cap-add SYS_ADMIN plus seccomp=unconfined.
func TestI18FlagsMount(t *testing.T) {
	s := shared(t)
	const script = "mkdir -p /m && mount -t tmpfs none /m && echo mounted"
	if r := i18flagsRun(s, nil, script); r.code == 0 || strings.Contains(r.stdout, "mounted") {
		t.Errorf("default container mounted: %v", r)
	}
	for _, flags := range [][]string{
		{"--privileged"},
		{"--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined"},
	} {
		if r := i18flagsRun(s, flags, script); r.code != 0 || r.stdout != "mounted\n" {
			t.Errorf("%v: %v, want the mount made", flags, r)
		}
	}
}

// TestI18FlagsCapabilities: --cap-drop ALL leaves no effective capability;
// --privileged gives exactly our bounding set; --cap-add adds, with or
// without CAP_; an unknown name is docker's error, 125, and no container.
func TestI18FlagsCapabilities(t *testing.T) {
	s := shared(t)
	self, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	ourBounding := i18flagsCap(t, string(self), "CapBnd")
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--cap-drop", "ALL"}, "0000000000000000"},
		{[]string{"--privileged"}, ourBounding},
		{[]string{"--cap-drop", "all", "--cap-add", "CAP_KILL", "--cap-add", "chown"}, fmt.Sprintf("%016x", 1<<5|1<<0)},
	} {
		r := i18flagsRun(s, tc.flags, "cat /proc/self/status")
		if r.code != 0 {
			t.Errorf("%v: %v", tc.flags, r)
			continue
		}
		if got := i18flagsCap(t, r.stdout, "CapEff"); got != tc.want {
			t.Errorf("%v: CapEff %s, want %s", tc.flags, got, tc.want)
		}
	}
	for _, tc := range []struct{ flag, name, want string }{
		{"--cap-add", "foo", `skiff: run: invalid CapAdd: unknown capability: "CAP_FOO"`},
		{"--cap-drop", "CAP_ALL", `skiff: run: invalid CapDrop: unknown capability: "CAP_ALL"`},
	} {
		name := uniqueName(t)
		r := s.skiff(nil, "run", "--name", name, tc.flag, tc.name, fx.busybox, "true")
		runError(t, r, 125)
		if got := strings.TrimSpace(r.stderr); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.flag, tc.name, got, tc.want)
		}
		if r := s.skiff(nil, "inspect", name); r.code == 0 {
			t.Errorf("%s %s left a container", tc.flag, tc.name)
			s.skiff(nil, "rm", "-f", name)
		}
	}
}

// TestI18FlagsPrivilegedPaths: a privileged container has no masked or
// read-only /proc paths, and /sys and /proc/sys are writable.
func TestI18FlagsPrivilegedPaths(t *testing.T) {
	s := shared(t)
	const script = "grep -E ' /sys | /proc/sys | /proc/kcore ' /proc/self/mounts"
	def := i18flagsRun(s, nil, script)
	if !strings.Contains(def.stdout, " /proc/sys proc ro,") || !strings.Contains(def.stdout, " /sys sysfs ro,") {
		t.Errorf("default: %v, want /sys and /proc/sys read-only", def)
	}
	r := i18flagsRun(s, []string{"--privileged"}, script)
	if r.code != 0 || strings.Contains(r.stdout, " ro,") || strings.Contains(r.stdout, "/proc/kcore") || !strings.Contains(r.stdout, " /sys sysfs rw,") {
		t.Errorf("privileged: %v, want /sys rw, no /proc/sys bind, nothing masked", r)
	}
	// /sys/fs/cgroup (the container's own cgroup) is writable only with
	// --privileged, as docker's.
	const cgroups = "grep ' /sys/fs/cgroup' /proc/self/mounts"
	if r := i18flagsRun(s, nil, cgroups); r.code != 0 || strings.Count(r.stdout, " ro,") != strings.Count(r.stdout, "\n") {
		t.Errorf("default: %v, want every /sys/fs/cgroup mount read-only", r)
	}
	if r := i18flagsRun(s, []string{"--privileged"}, cgroups); r.code != 0 || r.stdout == "" || strings.Contains(r.stdout, " ro,") {
		t.Errorf("privileged: %v, want /sys/fs/cgroup writable", r)
	}
	// /proc/sys is writable (in the container's own network namespace).
	const write = "echo 1 >/proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward"
	if r := i18flagsRun(s, nil, write); r.code == 0 {
		t.Errorf("default container wrote /proc/sys: %v", r)
	}
	if r := i18flagsRun(s, []string{"--privileged"}, write); r.code != 0 || r.stdout != "1\n" {
		t.Errorf("privileged /proc/sys write: %v", r)
	}
}

// TestI18FlagsGroupsAndUlimits: --group-add's groups show in id, by name
// and by number; an unknown name is docker's error; --ulimit nofile is
// the process's limit.
func TestI18FlagsGroupsAndUlimits(t *testing.T) {
	s := shared(t)
	r := i18flagsRun(s, []string{"--group-add", "app", "--group-add", "4321", "-u", "nobody"}, "id")
	if r.code != 0 || !strings.Contains(r.stdout, "1000(app)") || !strings.Contains(r.stdout, "4321") {
		t.Errorf("group-add: %v, want app and 4321 among the groups", r)
	}
	// exec'd processes get them too, as docker's.
	id := s.runD(t, "--group-add", "4321", fx.busybox, "sleep", "300")
	if r := s.skiff(nil, "exec", "-u", "app", id, "id", "-G"); r.code != 0 || r.stdout != "1000 4321\n" {
		t.Errorf("exec in a group-add container: %v, want 1000 4321", r)
	}
	r = i18flagsRun(s, []string{"--group-add", "nope"}, "id")
	runError(t, r, 125)
	if !strings.Contains(r.stderr, "unable to find group nope: no matching entries in group file") {
		t.Errorf("group-add nope: %v", r)
	}
	r = i18flagsRun(s, []string{"--ulimit", "nofile=512:1024"}, "ulimit -n; ulimit -Hn")
	if r.code != 0 || r.stdout != "512\n1024\n" {
		t.Errorf("ulimit: %v, want 512 and 1024", r)
	}
	// Above our own hard limit, without CAP_SYS_RESOURCE (this VM's
	// case): refused before anything is made, saying why.
	var ours unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &ours); err != nil {
		t.Fatal(err)
	}
	status, _ := os.ReadFile("/proc/self/status")
	if eff, _ := strconv.ParseUint(i18flagsCap(t, string(status), "CapEff"), 16, 64); eff&(1<<unix.CAP_SYS_RESOURCE) != 0 {
		return
	}
	above := fmt.Sprintf("nofile=100:%d", ours.Max+1)
	r = i18flagsRun(s, []string{"--ulimit", above}, "true")
	runError(t, r, 125)
	want := fmt.Sprintf("skiff: run: ulimit nofile: hard limit %d is above skiff's own (%d), which it may not raise without CAP_SYS_RESOURCE", ours.Max+1, ours.Max)
	if strings.TrimSpace(r.stderr) != want {
		t.Errorf("ulimit %s: %q, want %q", above, r.stderr, want)
	}
}

// TestI18FlagsSysctl: namespaced sysctls are set in the container's own
// namespaces (the host's untouched); host-wide keys and net.* with
// --network host are refused, with docker's words, leaving nothing.
func TestI18FlagsSysctl(t *testing.T) {
	s := shared(t)
	hostShmmax, _ := os.ReadFile("/proc/sys/kernel/shmmax")
	r := i18flagsRun(s, []string{"--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=123456789"},
		"cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax")
	if r.code != 0 || r.stdout != "1\n123456789\n" {
		t.Errorf("sysctls: %v", r)
	}
	if after, _ := os.ReadFile("/proc/sys/kernel/shmmax"); string(after) != string(hostShmmax) {
		t.Errorf("the host's kernel.shmmax changed: %q -> %q", hostShmmax, after)
	}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--sysctl", "kernel.panic=1"}, `skiff: run: invalid argument "kernel.panic=1" for "--sysctl" flag: sysctl 'kernel.panic=1' is not allowed`},
		{[]string{"--network", "host", "--sysctl", "net.ipv4.ip_forward=1"}, `skiff: run: sysctl "net.ipv4.ip_forward" not allowed in host network namespace`},
		{[]string{"--ipc", "host", "--sysctl", "kernel.shmmax=1"}, `skiff: run: sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace`},
	} {
		name := uniqueName(t)
		r := s.skiff(nil, append(append([]string{"run", "--name", name}, tc.flags...), fx.busybox, "true")...)
		runError(t, r, 125)
		if got := r.stderr[strings.LastIndex(strings.TrimSpace(r.stderr), "\n")+1:]; strings.TrimSpace(got) != tc.want {
			t.Errorf("%v: %q, want %q", tc.flags, r.stderr, tc.want)
		}
		if r := s.skiff(nil, "inspect", name); r.code == 0 {
			t.Errorf("%v left a container", tc.flags)
			s.skiff(nil, "rm", "-f", name)
		}
	}
}

// TestI18FlagsShm: --shm-size sizes /dev/shm; --ipc none has none.
func TestI18FlagsShm(t *testing.T) {
	s := shared(t)
	r := i18flagsRun(s, []string{"--shm-size", "1m"}, "df -k /dev/shm | tail -1")
	if f := strings.Fields(r.stdout); r.code != 0 || len(f) < 2 || f[1] != "1024" {
		t.Errorf("shm-size 1m: %v, want 1024 KiB", r)
	}
	if r := i18flagsRun(s, []string{"--ipc", "none"}, "test -e /dev/shm"); r.code != 1 {
		t.Errorf("ipc none: %v, want no /dev/shm", r)
	}
	// --ipc host: the host's IPC namespace and its /dev/shm.
	hostIPC, err := os.Readlink("/proc/self/ns/ipc")
	if err != nil {
		t.Fatal(err)
	}
	mark, err := os.CreateTemp("/dev/shm", "i18flags-")
	if err != nil {
		t.Skipf("no host /dev/shm to share: %v", err)
	}
	mark.Close()
	defer os.Remove(mark.Name())
	r = i18flagsRun(s, []string{"--ipc", "host"}, "readlink /proc/self/ns/ipc; ls "+mark.Name())
	if r.code != 0 || r.stdout != hostIPC+"\n"+mark.Name()+"\n" {
		t.Errorf("ipc host: %v, want %s and the host's %s", r, hostIPC, mark.Name())
	}
}

// TestI18FlagsHostNamespaces: --pid host sees this test's process;
// --uts host has the host's hostname.
func TestI18FlagsHostNamespaces(t *testing.T) {
	s := shared(t)
	script := fmt.Sprintf("test -d /proc/%d && echo seen", os.Getpid())
	if r := i18flagsRun(s, nil, script); r.stdout == "seen\n" {
		t.Errorf("a default container sees the host's pid %d", os.Getpid())
	}
	if r := i18flagsRun(s, []string{"--pid", "host"}, script); r.code != 0 || r.stdout != "seen\n" {
		t.Errorf("pid host: %v, want our pid %d seen", r, os.Getpid())
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	if r := i18flagsRun(s, []string{"--uts", "host"}, "hostname"); r.code != 0 || r.stdout != host+"\n" {
		t.Errorf("uts host: %v, want %q", r, host)
	}
	// No pid namespace dies with the process: what it left behind is
	// killed at its exit, as runc does, and the cgroup goes.
	r := i18flagsRun(s, []string{"--pid", "host"}, "sleep 300 >/dev/null 2>&1 & echo $!")
	if pid, err := strconv.Atoi(strings.TrimSpace(r.stdout)); err != nil || r.code != 0 {
		t.Errorf("pid host, background sleep: %v", r)
	} else if !waitGone(pid, 5*time.Second) {
		t.Errorf("the container's background process %d outlived it", pid)
		kill9(pid)
	}
	// exec joins the same namespaces.
	id := s.runD(t, "--pid", "host", "--uts", "host", fx.busybox, "sleep", "300")
	if r := s.skiff(nil, "exec", id, "sh", "-c", "hostname; "+script); r.code != 0 || r.stdout != host+"\nseen\n" {
		t.Errorf("exec in a pid and uts host container: %v", r)
	}
}

// TestI18FlagsJoinContainer: --pid container:X sees X's processes; --ipc
// container:X shares X's IPC namespace (its POSIX queues and its IPC
// sysctls), only with a donor that is --ipc shareable.
func TestI18FlagsJoinContainer(t *testing.T) {
	s := shared(t)
	donor := uniqueName(t)
	s.runD(t, "--name", donor, "--ipc", "shareable", "--sysctl", "kernel.shmmax=7654321",
		fx.busybox, "sh", "-c", "touch /dev/mqueue/i18q /dev/shm/i18shm && exec sleep 300")
	r := i18flagsRun(s, []string{"--pid", "container:" + donor}, "tr '\\0' ' ' </proc/1/cmdline")
	if r.code != 0 || !strings.Contains(r.stdout, "sleep 300") {
		t.Errorf("pid container: %v, want the donor's sleep as pid 1", r)
	}
	r = i18flagsRun(s, []string{"--ipc", "container:" + donor}, "ls /dev/mqueue /dev/shm; cat /proc/sys/kernel/shmmax")
	if r.code != 0 || r.stdout != "/dev/mqueue:\ni18q\n\n/dev/shm:\ni18shm\n7654321\n" {
		t.Errorf("ipc container: %v, want the donor's queue, /dev/shm and shmmax", r)
	}
	if r := i18flagsRun(s, nil, "ls /dev/mqueue"); strings.Contains(r.stdout, "i18q") {
		t.Errorf("a default container sees the donor's queue: %v", r)
	}
	// A SysV shared memory segment made in the donor's IPC namespace (by
	// this test, from a thread that joined it: busybox has no ipcmk) is
	// listed in the joiner's, not in a default container's.
	pid, err := strconv.Atoi(strings.TrimSpace(s.must(t, "inspect", "-f", "{{.State.Pid}}", donor).stdout))
	if err != nil {
		t.Fatal(err)
	}
	const shmKey = 0x18f1a9
	if err := i18flagsShmIn(pid, shmKey); err != nil {
		t.Fatalf("a segment in the donor's IPC namespace: %v", err)
	}
	const listed = "awk '{print $1}' /proc/sysvipc/shm"
	if r := i18flagsRun(s, []string{"--ipc", "container:" + donor}, listed); !strings.Contains(r.stdout, strconv.Itoa(shmKey)) {
		t.Errorf("ipc container: %v, want the donor's SysV segment %d", r, shmKey)
	}
	if r := i18flagsRun(s, nil, listed); strings.Contains(r.stdout, strconv.Itoa(shmKey)) {
		t.Errorf("a default container sees the donor's SysV segment: %v", r)
	}
	private := uniqueName(t)
	privID := s.runD(t, "--name", private, fx.busybox, "sleep", "300")
	r = i18flagsRun(s, []string{"--ipc", "container:" + private}, "true")
	runError(t, r, 125)
	if want := "container " + privID + ": non-shareable IPC (hint: use IpcMode:shareable for the donor container)"; !strings.Contains(r.stderr, want) {
		t.Errorf("private donor: %v, want %q", r, want)
	}
	pidMode := s.must(t, "inspect", "-f", "{{.HostConfig.IpcMode}}", donor).stdout
	if pidMode != "shareable\n" {
		t.Errorf("donor's IpcMode %q", pidMode)
	}
}

// TestI18FlagsInspect: HostConfig shows each flag as docker does, and
// docker's defaults without them.
func TestI18FlagsInspect(t *testing.T) {
	s := shared(t)
	const format = "{{json .HostConfig.CapAdd}} {{json .HostConfig.CapDrop}} {{.HostConfig.Privileged}} " +
		"{{json .HostConfig.GroupAdd}} {{json .HostConfig.Ulimits}} {{json .HostConfig.Sysctls}} {{.HostConfig.ShmSize}} " +
		"{{.HostConfig.PidMode}}|{{.HostConfig.IpcMode}}|{{.HostConfig.UTSMode}}|{{.HostConfig.UsernsMode}} {{json .HostConfig.MaskedPaths}}"
	def := s.create(t, fx.busybox)
	if got := s.must(t, "inspect", "-f", format, def).stdout; !strings.HasPrefix(got, "null null false null [] null 67108864 |private|| [") {
		t.Errorf("defaults: %q", got)
	}
	id := s.create(t, "--cap-add", "net_admin", "--cap-drop", "ALL", "--privileged", "--group-add", "app",
		"--ulimit", "nofile=10:20", "--sysctl", "net.ipv4.ip_forward=1", "--shm-size", "2m",
		"--pid", "host", "--ipc", "shareable", "--uts", "host", "--userns", "host", fx.busybox)
	want := `["net_admin"] ["ALL"] true ["app"] [{"Name":"nofile","Hard":20,"Soft":10}] {"net.ipv4.ip_forward":"1"} 2097152 host|shareable|host|host null` + "\n"
	if got := s.must(t, "inspect", "-f", format, id).stdout; got != want {
		t.Errorf("inspect:\n got %q\nwant %q", got, want)
	}
}

// i18flagsShmIn makes a SysV shared memory segment with key in process
// pid's IPC namespace, from a thread that joins it and is then discarded
// (its goroutine never unlocks it). The segment goes with the namespace.
func i18flagsShmIn(pid, key int) error {
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/ipc", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWIPC); err != nil {
			done <- fmt.Errorf("setns: %w", err)
			return
		}
		_, err = unix.SysvShmGet(key, 4096, unix.IPC_CREAT|0o600)
		done <- err
	}()
	return <-done
}
