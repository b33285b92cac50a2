package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// hostileRoot builds a root whose symlinks all try to leave it; host is a
// directory outside root standing for the host's files.
func hostileRoot(t *testing.T) (root, host string) {
	t.Helper()
	root, host = t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "usr/lib"), 0o755))
	must(os.Symlink(host, filepath.Join(root, "etc")))                  // absolute, to the host
	must(os.Symlink("../../../../../../..", filepath.Join(root, "up"))) // relative, far above root
	must(os.Symlink("/usr/lib", filepath.Join(root, "lib")))            // absolute, meant in root
	must(os.Symlink("../../"+filepath.Base(host), filepath.Join(root, "usr/rel")))
	must(os.Symlink("loop2", filepath.Join(root, "loop1")))
	must(os.Symlink("loop1", filepath.Join(root, "loop2")))
	must(os.Symlink(filepath.Join(host, "dangling"), filepath.Join(root, "dangle")))
	return root, host
}

func TestSecureJoin(t *testing.T) {
	root, host := hostileRoot(t)
	tests := []struct {
		path, want string
		wantErr    bool
	}{
		{path: "/", want: "/"},
		{path: "", want: "/"},
		{path: "/usr/lib/x", want: "/usr/lib/x"},
		{path: "/etc/hosts", want: host + "/hosts"},
		{path: "/up/etc/passwd", want: host + "/passwd"}, // up -> "/" in root, then etc -> host (in root)
		{path: "/../../../tmp", want: "/tmp"},
		{path: "/lib/libc.so", want: "/usr/lib/libc.so"},
		{path: "usr/rel/x", want: "/" + filepath.Base(host) + "/x"},
		{path: "/dangle", want: host + "/dangling"},
		{path: "/missing/../usr", want: "/usr"},
		{path: "/loop1/x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := SecureJoin(root, tt.path)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %q, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOpenInRoot(t *testing.T) {
	tests := []struct {
		path string
		kind Kind
		// inRoot is where the target must end up, relative to root (with
		// HOST standing for the host dir's path, recreated inside root).
		inRoot  string
		wantDir bool
		wantErr bool
	}{
		{path: "/etc/hosts", kind: File, inRoot: "HOST/hosts"},
		{path: "/etc/sub/dir", kind: Dir, inRoot: "HOST/sub/dir", wantDir: true},
		{path: "/up/up/etc/resolv.conf", kind: File, inRoot: "HOST/resolv.conf"},
		{path: "../../../../proc", kind: Dir, inRoot: "proc", wantDir: true},
		{path: "/dangle", kind: File, inRoot: "HOST/dangling"},
		{path: "/lib/x", kind: Dir, inRoot: "usr/lib/x", wantDir: true},
		{path: "/usr/lib", kind: MustExist, inRoot: "usr/lib", wantDir: true},
		{path: "/nothere", kind: MustExist, wantErr: true},
		{path: "/loop1", kind: File, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			root, host := hostileRoot(t)
			fd, err := OpenInRoot(root, tt.path, tt.kind)
			if tt.wantErr {
				if err == nil {
					unix.Close(fd)
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			got, err := os.Readlink(fdPath(fd))
			if err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(root, filepath.FromSlash(replaceHost(tt.inRoot, host)))
			if got != want {
				t.Errorf("opened %s, want %s", got, want)
			}
			fi, err := os.Stat(want)
			if err != nil || fi.IsDir() != tt.wantDir {
				t.Errorf("stat %s: %v, dir=%v; want dir=%v", want, err, fi != nil && fi.IsDir(), tt.wantDir)
			}
			if ents, _ := os.ReadDir(host); len(ents) != 0 {
				t.Errorf("the host dir was written to: %v", ents)
			}
		})
	}
}

func replaceHost(p, host string) string {
	if len(p) >= 4 && p[:4] == "HOST" {
		return host + p[4:]
	}
	return p
}
