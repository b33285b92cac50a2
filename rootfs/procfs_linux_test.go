package rootfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestOpenProc(t *testing.T) {
	p, err := OpenProc()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	f, err := p.OpenFile("self/comm", unix.O_RDONLY)
	if err != nil {
		t.Fatalf("open self/comm: %v", err)
	}
	defer f.Close()
	if b, _ := io.ReadAll(f); len(b) == 0 {
		t.Error("self/comm is empty")
	}
	for _, rel := range []string{"../etc/passwd", "self/root/etc/passwd", "self/cwd"} {
		if f, err := p.OpenFile(rel, unix.O_RDONLY); err == nil {
			f.Close()
			t.Errorf("open %s below the procfs: no error, want a refusal (outside, or a magic link)", rel)
		}
	}
}

func TestCheckProcRoot(t *testing.T) {
	for _, tt := range []struct{ path, wantErr string }{
		{"/proc/sys", "not a procfs's root"},
		{t.TempDir(), "not on a procfs"},
	} {
		fd, err := unix.Open(tt.path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkProcRoot(fd); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("checkProcRoot(%s): %v, want %q", tt.path, err, tt.wantErr)
		}
		unix.Close(fd)
	}
}

// TestProcWriteRedirect is CVE-2025-52881: a file bound over the procfs
// file the runtime means to write takes the write when the path is used.
// A private procfs does not have the mount at all; /proc itself, used as
// the last resort, refuses to cross it.
func TestProcWriteRedirect(t *testing.T) {
	inPrivateMountNS(t, func() {
		decoy := filepath.Join(t.TempDir(), "decoy")
		if err := os.WriteFile(decoy, []byte("decoy\n"), 0o644); err != nil {
			t.Error(err)
			return
		}
		const file = "/proc/sys/kernel/domainname"
		if err := unix.Mount(decoy, file, "", unix.MS_BIND, ""); err != nil {
			t.Error(err)
			return
		}
		// The unprotected path reaches the decoy.
		if got, _ := os.ReadFile(file); string(got) != "decoy\n" {
			t.Errorf("%s by path reads %q: the over-mount did not work, the test proves nothing", file, got)
		}
		fd, err := newProcInstance()
		if err != nil {
			t.Errorf("a private procfs: %v", err)
			return
		}
		private := &Proc{fd: fd}
		defer private.Close()
		f, err := private.OpenFile("sys/kernel/domainname", unix.O_RDONLY)
		if err != nil {
			t.Errorf("open in the private procfs: %v", err)
			return
		}
		got, _ := io.ReadAll(f)
		f.Close()
		if string(got) == "decoy\n" {
			t.Error("the private procfs shows the over-mount")
		}
		fd, err = openProcMount()
		if err != nil {
			t.Error(err)
			return
		}
		plain := &Proc{fd: fd}
		defer plain.Close()
		if f, err := plain.OpenFile("sys/kernel/domainname", unix.O_WRONLY); err == nil {
			f.Close()
			t.Error("opened the over-mounted file through /proc: want a refusal")
		} else if !errors.Is(err, unix.EXDEV) {
			t.Errorf("open through /proc: %v, want EXDEV", err)
		}
	})
}

// TestMountAllProcRules: procfs and sysfs only on an ordinary directory,
// nothing but procfs on /proc and nothing below it but lxcfs's files
// (runc's checkProcMount), however the destination is reached.
func TestMountAllProcRules(t *testing.T) {
	src := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(src, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srcDir := t.TempDir()
	tests := []struct {
		name    string
		links   map[string]string // name in root -> link target
		mount   specs.Mount
		wantErr string
	}{
		{name: "proc on /proc", mount: specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"}},
		{name: "proc on a link", links: map[string]string{"proc": "/elsewhere"},
			mount: specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"}, wantErr: `filesystem "proc" must be mounted on ordinary directory`},
		{name: "sysfs on a link", links: map[string]string{"sys": "/elsewhere"},
			mount: specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs"}, wantErr: `filesystem "sysfs" must be mounted on ordinary directory`},
		{name: "a bind on /proc", mount: specs.Mount{Destination: "/proc", Type: "bind", Source: srcDir, Options: []string{"rbind"}},
			wantErr: `"/proc" cannot be mounted because it is not of type proc`},
		{name: "a tmpfs through a link to /proc", links: map[string]string{"data": "/proc"},
			mount: specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs"}, wantErr: `"/proc" cannot be mounted because it is not of type proc`},
		{name: "a bind below /proc", mount: specs.Mount{Destination: "/proc/sys/kernel/core_pattern", Type: "bind", Source: src, Options: []string{"bind"}},
			wantErr: `"/proc/sys/kernel/core_pattern" cannot be mounted because it is inside /proc`},
		{name: "lxcfs's meminfo", mount: specs.Mount{Destination: "/proc/meminfo", Type: "bind", Source: src, Options: []string{"bind"}}},
		{name: "a bind elsewhere", mount: specs.Mount{Destination: "/data/file", Type: "bind", Source: src, Options: []string{"bind"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.Mkdir(filepath.Join(root, "elsewhere"), 0o755); err != nil {
				t.Fatal(err)
			}
			for name, target := range tt.links {
				if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
					t.Fatal(err)
				}
			}
			inPrivateMountNS(t, func() {
				mounts := []specs.Mount{tt.mount}
				if tt.mount.Type != "proc" {
					// What docker's list puts first, for the binds below it.
					if _, link := tt.links["proc"]; !link {
						mounts = append([]specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}}, mounts...)
					}
				}
				err := MountAll(root, mounts)
				switch {
				case tt.wantErr == "" && err != nil:
					t.Errorf("MountAll: %v", err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Errorf("MountAll: %v, want an error with %q", err, tt.wantErr)
				}
			})
		})
	}
}

func TestProcSelfFds(t *testing.T) {
	f, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fds, err := ProcSelfFds()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, fd := range fds {
		seen[fd] = true
	}
	if !seen[0] || !seen[int(f.Fd())] {
		t.Errorf("ProcSelfFds() = %v: lacks 0 or the open directory's %d", fds, f.Fd())
	}
}
