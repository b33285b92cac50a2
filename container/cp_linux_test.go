package container

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestPlan(t *testing.T) {
	file := srcInfo{Base: "f"}
	dir := srcInfo{IsDir: true, Base: "d"}
	dirDot := srcInfo{IsDir: true, Contents: true, Base: "d"}
	for _, c := range []struct {
		name        string
		src         srcInfo
		dst         dstInfo
		dir, rebase string
		wantErr     string
	}{
		{"file to missing path: created there", file, dstInfo{Path: "/x/new"}, "/x/", "new", ""},
		{"file to existing file: overwritten", file, dstInfo{Path: "/x/old", Exists: true}, "/x/", "old", ""},
		{"file to existing dir: inside it", file, dstInfo{Path: "/x", Exists: true, IsDir: true}, "/x", "f", ""},
		{"file to missing dir/: error", file, dstInfo{Path: "/x/", DirSlash: true}, "", "", "does not exist"},
		{"file to existing file/: error", file, dstInfo{Path: "/x/", Exists: true, DirSlash: true}, "", "", "not a directory"},
		{"dir to missing path: becomes it", dir, dstInfo{Path: "/x/new"}, "/x/", "new", ""},
		{"dir to missing path/: becomes it", dir, dstInfo{Path: "/x/new/", DirSlash: true}, "/x/", "new", ""},
		{"dir to existing dir: inside it", dir, dstInfo{Path: "/x", Exists: true, IsDir: true}, "/x", "d", ""},
		{"dir/. to existing dir: its contents", dirDot, dstInfo{Path: "/x", Exists: true, IsDir: true}, "/x", "", ""},
		{"dir/. to missing path: becomes it", dirDot, dstInfo{Path: "new"}, ".", "new", ""},
		{"dir to existing file: error", dir, dstInfo{Path: "/x/f", Exists: true}, "", "", "cannot copy a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, rebase, err := plan(c.src, c.dst)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || d != c.dir || rebase != c.rebase {
				t.Errorf("got (%q, %q, %v), want (%q, %q)", d, rebase, err, c.dir, c.rebase)
			}
		})
	}
}

// fakeContainer is a directory standing in for a container's root, with
// the links a hostile container plants: /escape -> / and /d/up -> ../../..
func fakeContainer(t *testing.T) (dir string, rootfd int) {
	t.Helper()
	dir = t.TempDir()
	for _, p := range []string{"d", "etc", "tmp"} {
		os.Mkdir(filepath.Join(dir, p), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "etc/where"), []byte("inside\n"), 0o644)
	os.Symlink("/", filepath.Join(dir, "escape"))
	os.Symlink("../../../../../../..", filepath.Join(dir, "d/up"))
	os.Symlink("/etc/where", filepath.Join(dir, "link"))
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return dir, fd
}

func TestCopyIntoPlantedLinksStaysInside(t *testing.T) {
	ctr, rootfd := fakeContainer(t)
	host := t.TempDir()
	src := filepath.Join(host, "src")
	os.WriteFile(src, []byte("copied\n"), 0o644)
	// The host path the links would reach outside the fake root.
	outside := filepath.Join(host, "landed")
	for _, dst := range []string{"/escape" + outside, "/d/up" + outside} {
		t.Run(dst, func(t *testing.T) {
			os.MkdirAll(filepath.Join(ctr, host), 0o755)
			if err := copyTree(hostTree(), src, containerTree(rootfd, "c"), dst, CopyOptions{}); err != nil {
				t.Fatalf("copy: %v", err)
			}
			if _, err := os.Lstat(outside); err == nil {
				t.Fatalf("the copy wrote the host's %s", outside)
			}
			b, err := os.ReadFile(filepath.Join(ctr, outside))
			if err != nil || string(b) != "copied\n" {
				t.Errorf("in the container: %q %v", b, err)
			}
			os.Remove(filepath.Join(ctr, outside))
		})
	}
}

func TestCopyOutPlantedLinksReadInside(t *testing.T) {
	_, rootfd := fakeContainer(t)
	host := t.TempDir()
	// A host file that a link followed on the host would find.
	hostWhere := "/etc/hostname"
	for _, c := range []struct{ src, want string }{
		{"/escape/etc/where", "inside\n"},
		{"/d/up/etc/where", "inside\n"},
	} {
		t.Run(c.src, func(t *testing.T) {
			dst := filepath.Join(host, filepath.Base(c.src)+strings.ReplaceAll(c.src, "/", "_"))
			if err := copyTree(containerTree(rootfd, "c"), c.src, hostTree(), dst, CopyOptions{}); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(dst); string(b) != c.want {
				t.Errorf("read %q, want %q", b, c.want)
			}
		})
	}
	if err := copyTree(containerTree(rootfd, "c"), "/escape"+hostWhere, hostTree(), filepath.Join(host, "h"), CopyOptions{}); err == nil {
		t.Errorf("copying /escape%s succeeded: the fake container has no such file, only the host does", hostWhere)
	}
}

func TestCopyLinkFollowL(t *testing.T) {
	_, rootfd := fakeContainer(t)
	host := t.TempDir()
	ct := containerTree(rootfd, "c")
	if err := copyTree(ct, "/link", hostTree(), filepath.Join(host, "l"), CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(filepath.Join(host, "l")); err != nil || l != "/etc/where" {
		t.Errorf("without -L: %q %v, want the link itself", l, err)
	}
	if err := copyTree(ct, "/link", hostTree(), filepath.Join(host, "L"), CopyOptions{FollowLink: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(host, "L")); string(b) != "inside\n" {
		t.Errorf("with -L: %q, want the container's target", b)
	}
}

func TestCopyArchiveKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	_, rootfd := fakeContainer(t)
	src := filepath.Join(t.TempDir(), "owned")
	os.WriteFile(src, []byte("o"), 0o640)
	os.Chown(src, 4321, 8765)
	ct := containerTree(rootfd, "c")
	for _, c := range []struct {
		archive  bool
		uid, gid uint32
	}{{false, 0, 0}, {true, 4321, 8765}} {
		dst := "/tmp/plain"
		if c.archive {
			dst = "/tmp/archive"
		}
		if err := copyTree(hostTree(), src, ct, dst, CopyOptions{Archive: c.archive}); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Fstatat(rootfd, strings.TrimPrefix(dst, "/"), &st, 0); err != nil {
			t.Fatal(err)
		}
		if st.Uid != c.uid || st.Gid != c.gid || st.Mode&0o777 != 0o640 {
			t.Errorf("-a=%v: %d:%d %o, want %d:%d 640", c.archive, st.Uid, st.Gid, st.Mode&0o777, c.uid, c.gid)
		}
	}
}

func TestCopyKeepsHardLinks(t *testing.T) {
	ctr, rootfd := fakeContainer(t)
	os.WriteFile(filepath.Join(ctr, "d/a"), []byte("same\n"), 0o644)
	if err := os.Link(filepath.Join(ctr, "d/a"), filepath.Join(ctr, "d/b")); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "out")
	if err := copyTree(containerTree(rootfd, "c"), "/d", hostTree(), dst, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	var a, b unix.Stat_t
	unix.Stat(filepath.Join(dst, "a"), &a)
	unix.Stat(filepath.Join(dst, "b"), &b)
	if a.Ino == 0 || a.Ino != b.Ino {
		t.Errorf("a and b are inodes %d and %d, want one linked file", a.Ino, b.Ino)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "b")); string(got) != "same\n" {
		t.Errorf("b has %q", got)
	}
}
