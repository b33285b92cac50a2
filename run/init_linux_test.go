package run

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-dev/skiff/internal/testenv"
	"github.com/skiff-dev/skiff/ns"
	"github.com/skiff-dev/skiff/spec"
)

// The test binary doubles as the container init: package init funcs run
// before TestMain, so this needs no change to it.
func init() {
	if len(os.Args) > 1 && os.Args[1] == InitArg {
		Init()
	}
}

// testImage is a one-layer busybox image shared by the init tests.
type testImage struct {
	layer string // lowerdir
	host  string // a dir standing for the host, which no container may touch
	files string // generated /etc files
}

func newTestImage(t *testing.T) *testImage {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the container init needs root")
	}
	if _, err := os.Stat(testenv.BusyboxPath); err != nil {
		t.Skipf("needs a static busybox: %v", err)
	}
	img := &testImage{layer: t.TempDir(), host: t.TempDir(), files: t.TempDir()}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(testenv.WriteRootfs(img.layer))
	// A hostile image: its /etc/hostname points at the host.
	must(os.Symlink(filepath.Join(img.host, "pwned"), filepath.Join(img.layer, "etc/hostname")))
	must(os.WriteFile(filepath.Join(img.files, "hostname"), []byte("box\n"), 0o644))
	must(os.WriteFile(filepath.Join(img.files, "hosts"), []byte(spec.HostsFile("box")), 0o644))
	must(os.WriteFile(filepath.Join(img.files, "resolv.conf"), []byte("nameserver 127.0.0.1\n"), 0o644))
	return img
}

// config is docker's default container of img running args.
func (img *testImage) config(t *testing.T, args ...string) *InitConfig {
	dir := t.TempDir()
	// 0700 as skiff's parent makes them: the init must still give the
	// container the image's "/" (mode 0755) for non-root users.
	for _, d := range []string{"rootfs", "upper", "work"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return &InitConfig{
		oci: &specs.Spec{
			Process: &specs.Process{
				Args: args,
				Env:  []string{"PATH=/bin"},
				Cwd:  "/",
				Capabilities: &specs.LinuxCapabilities{
					Bounding: spec.DefaultCaps, Permitted: spec.DefaultCaps, Effective: spec.DefaultCaps,
				},
			},
			Hostname: "box",
			Mounts: spec.Mounts(filepath.Join(img.files, "hostname"), filepath.Join(img.files, "hosts"),
				filepath.Join(img.files, "resolv.conf")),
			Linux: &specs.Linux{MaskedPaths: spec.MaskedPaths, ReadonlyPaths: spec.ReadonlyPaths},
		},
		Lowerdirs: []string{img.layer},
		Upper:     filepath.Join(dir, "upper"),
		Work:      filepath.Join(dir, "work"),
		Rootfs:    filepath.Join(dir, "rootfs"),
	}
}

// runInit plays the parent: start the init, send cfg, read the result.
// It returns the exit status, the InitResult (nil when the init exec'd)
// and the container's stdout.
func runInit(t *testing.T, cfg *InitConfig) (int, *InitResult, string) {
	t.Helper()
	parent, child, err := syncPair()
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], InitArg)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.ExtraFiles = []*os.File{child}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: ns.ContainerCloneFlags}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	res, pty := playParent(t, parent, cfg)
	var ptyOut []byte
	if pty != nil {
		// Reading the master until EIO (all slaves closed) is how a parent
		// sees everything the process wrote to its terminal.
		ptyOut, _ = io.ReadAll(pty)
		pty.Close()
	}
	cmd.Wait()
	if stderr.Len() > 0 {
		t.Logf("container stderr: %s", stderr.String())
	}
	return cmd.ProcessState.ExitCode(), res, stdout.String() + string(ptyOut)
}

// playParent sends cfg and, with no cgroup to wait for, the go at once,
// then reads what the init sends until the socket closes: an optional pty
// master, then either nothing (exec'd) or an InitResult.
func playParent(t *testing.T, parent *os.File, cfg *InitConfig) (*InitResult, *os.File) {
	t.Helper()
	conn := syncSocket(parent.Fd())
	// The monitor sends config.json's bytes: so does this parent.
	b, err := json.Marshal(cfg.oci)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Spec = b
	if err := conn.sendJSON(msgConfig, cfg); err != nil {
		t.Fatal(err)
	}
	conn.send(msgGo, nil, -1)
	var pty *os.File
	for {
		m, err := conn.recv(maxReplySize)
		if err == io.EOF {
			return nil, pty
		}
		if err != nil {
			t.Fatalf("read from init: %v", err)
		}
		switch {
		case m.kind == msgPty && m.fd != nil && pty == nil:
			pty = m.fd
		case m.kind == msgError:
			res := new(InitResult)
			if err := json.Unmarshal(m.payload, res); err != nil {
				t.Fatalf("init result %q: %v", m.payload, err)
			}
			return res, pty
		default:
			t.Fatalf("unexpected %s message from init (file %v)", m.kind, m.fd)
		}
	}
}

func TestInitContainer(t *testing.T) {
	img := newTestImage(t)

	t.Run("docker's environment", func(t *testing.T) {
		script := `echo pid=$$; hostname; grep -E '^Cap(Eff|Bnd)' /proc/self/status
stat -c interrupts=%t,%T /proc/interrupts; ls -l /proc/$$/fd
(echo 1 > /proc/sys/kernel/ns_last_pid) 2>/dev/null && echo procsys=rw || echo procsys=ro
echo lo=$(cat /sys/class/net/lo/operstate); echo home=$HOME; echo hostfile=$(cat /etc/hostname)
cat /proc/self/mountinfo`
		code, res, out := runInit(t, img.config(t, "sh", "-c", script))
		if code != 0 || res != nil {
			t.Fatalf("exit %d, result %+v, output:\n%s", code, res, out)
		}
		for _, want := range []string{
			"pid=1\n", "box\n", fmt.Sprintf("CapEff:\t%016x\n", dockerCapMask), fmt.Sprintf("CapBnd:\t%016x\n", dockerCapMask),
			"interrupts=1,3\n", "procsys=ro\n", "lo=unknown\n", "home=/root\n", "hostfile=box\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		// Only stdio is open in the container's process: no fd of the
		// init's (a host directory above all) survived exec.
		if n := strings.Count(out, " -> "); n != 3 {
			t.Errorf("pid 1 has %d open fds, want 3 (stdio):\n%s", n, out)
		}
		// The image's /etc/hostname -> <host>/pwned resolved inside the
		// rootfs: the bind landed on the container's own <host>/pwned.
		checkMountinfo(t, out, filepath.Join(img.host, "pwned"))
		if _, err := os.Lstat(filepath.Join(img.host, "pwned")); err == nil {
			t.Error("a symlink in the image made the init create a file on the host")
		}
	})

	t.Run("terminal", func(t *testing.T) {
		cfg := img.config(t, "sh", "-c", `tty; stat -c %t,%T /dev/console; stat -c %u /proc/self/fd/0; ls -l /proc/1/fd/ 2>/dev/null | grep -c " -> /dev/pts/0"; readlink /dev/ptmx`)
		cfg.User = "alice"
		cfg.oci.Process.Terminal = true
		code, res, out := runInit(t, cfg)
		if code != 0 || res != nil {
			t.Fatalf("exit %d, result %+v, output:\n%s", code, res, out)
		}
		// pts/0 of the container's own devpts instance (major 136), owned
		// by the user, on stdin, stdout and stderr.
		if want := "/dev/pts/0\r\n88,0\r\n1000\r\n3\r\npts/ptmx\r\n"; out != want {
			t.Errorf("output %q, want %q", out, want)
		}
	})

	tests := []struct {
		name     string
		user     string
		cwd      string
		args     []string
		wantCode int
		wantMsg  string // InitResult.Msg, when the init itself fails
		wantOut  string
	}{
		{name: "exit status", args: []string{"sh", "-c", "exit 3"}, wantCode: 3},
		{name: "not found", args: []string{"nosuchcmd"}, wantCode: 127, wantMsg: `exec: "nosuchcmd": executable file not found in $PATH`},
		{name: "not executable", args: []string{"/notexec"}, wantCode: 126, wantMsg: `exec: "/notexec": permission denied`},
		{name: "directory", args: []string{"/etc"}, wantCode: 126, wantMsg: `exec: "/etc": permission denied`},
		{name: "unknown user", user: "bob", args: []string{"id"}, wantCode: 125, wantMsg: "unable to find user bob: no matching entries in passwd file"},
		{
			name: "non-root user", user: "alice", cwd: "/work/dir",
			args:    []string{"sh", "-c", `id; pwd; stat -c %u /work/dir; grep -E '^Cap(Eff|Bnd)' /proc/self/status; echo $HOME; echo reopened > /dev/stdout`},
			wantOut: fmt.Sprintf("uid=1000(alice) gid=1000(alice) groups=1000(alice)\n/work/dir\n1000\nCapEff:\t%016x\nCapBnd:\t%016x\n/home/alice\nreopened\n", 0, dockerCapMask),
		},
		{name: "root", args: []string{"id"}, wantOut: "uid=0(root) gid=0(root) groups=0(root),10(wheel)\n"},
		{name: "numeric user", user: "4242:4343", args: []string{"id"}, wantOut: "uid=4242 gid=4343 groups=4343\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := img.config(t, tt.args...)
			cfg.User = tt.user
			if tt.cwd != "" {
				cfg.oci.Process.Cwd = tt.cwd
			}
			code, res, out := runInit(t, cfg)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (result %+v, output %q)", code, tt.wantCode, res, out)
			}
			switch {
			case tt.wantMsg == "" && res != nil:
				t.Errorf("unexpected init failure %+v", res)
			case tt.wantMsg != "" && (res == nil || res.Msg != tt.wantMsg || res.Code != tt.wantCode):
				t.Errorf("result %+v, want {%d %s}", res, tt.wantCode, tt.wantMsg)
			}
			if tt.wantOut != "" && out != tt.wantOut {
				t.Errorf("output %q, want %q", out, tt.wantOut)
			}
		})
	}
}

// checkMountinfo asserts the container sees only its own mounts: every
// mount point is one the spec, the masks or the init made.
func checkMountinfo(t *testing.T, out string, extra ...string) {
	t.Helper()
	allowed := map[string]bool{"/": true, "/dev": true, "/dev/pts": true, "/dev/mqueue": true, "/dev/shm": true,
		"/proc": true, "/sys": true, "/sys/fs/cgroup": true,
		"/etc/hosts": true, "/etc/resolv.conf": true, "/etc/hostname": true}
	for _, p := range append(append(extra, spec.MaskedPaths...), spec.ReadonlyPaths...) {
		allowed[p] = true
	}
	n := 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 10 || !strings.Contains(line, " - ") {
			continue
		}
		n++
		if !allowed[f[4]] {
			t.Errorf("host mount visible in the container: %s", line)
		}
		if f[4] == "/" && !strings.Contains(line, " - overlay ") {
			t.Errorf("/ is not the overlay: %s", line)
		}
	}
	if n < 8 {
		t.Errorf("only %d mounts in mountinfo:\n%s", n, out)
	}
}
