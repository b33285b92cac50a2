package rootfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mkTree makes a fake layer or upper dir from specs: "f name" a file, "d
// name" a dir, "o name" an opaque dir, "w name" a whiteout, "l name" a
// symlink to /.
func mkTree(t *testing.T, specs ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, s := range specs {
		kind, name, _ := strings.Cut(s, " ")
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch kind {
		case "f":
			err = os.WriteFile(p, []byte(name), 0o644)
		case "d":
			err = os.MkdirAll(p, 0o755)
		case "o":
			if err = os.MkdirAll(p, 0o755); err == nil {
				err = unix.Setxattr(p, "trusted.overlay.opaque", []byte("y"), 0)
			}
		case "w":
			err = unix.Mknod(p, unix.S_IFCHR, 0)
		case "l":
			err = os.Symlink("/", p)
		}
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return dir
}

func TestChanges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("whiteouts (char 0/0) and trusted.* xattrs need root")
	}
	for _, c := range []struct {
		name   string
		lowers [][]string // top layer first
		upper  []string
		want   []string
	}{
		{"added file and dir",
			[][]string{{"f etc/passwd"}}, []string{"f new", "f newdir/sub/x"},
			[]string{"A /new", "A /newdir", "A /newdir/sub", "A /newdir/sub/x"}},
		{"changed file makes its parent C",
			[][]string{{"f etc/passwd"}}, []string{"f etc/passwd"},
			[]string{"C /etc", "C /etc/passwd"}},
		{"whiteout is D, not descended",
			[][]string{{"f bin/wget", "f bin/sh"}}, []string{"w bin/wget"},
			[]string{"C /bin", "D /bin/wget"}},
		{"opaque dir: C plus D of what the layers had, a new name A",
			[][]string{{"f data/dir/y"}, {"f data/dir/x", "f data/dir/keep"}},
			[]string{"o data/dir", "f data/dir/z", "f data/dir/keep"},
			[]string{"C /data", "C /data/dir", "C /data/dir/keep", "D /data/dir/x", "D /data/dir/y", "A /data/dir/z"}},
		{"a path a higher layer whited out is new again",
			[][]string{{"w data/a"}, {"f data/a"}}, []string{"f data/a"},
			[]string{"C /data", "A /data/a"}},
		{"an opaque lower dir hides the layers beneath",
			[][]string{{"o d", "f d/top"}, {"f d/old"}}, []string{"f d/old", "f d/top"},
			[]string{"C /d", "A /d/old", "C /d/top"}},
		{"a file in a lower layer hides a dir beneath it",
			[][]string{{"f d"}, {"f d/x"}}, []string{"d d", "f d/x"},
			[]string{"C /d", "A /d/x"}},
		{"a symlink is listed, never followed",
			[][]string{{"f etc/x"}}, []string{"l link"},
			[]string{"A /link"}},
		{"nothing changed", [][]string{{"f a"}}, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var lowers []string
			for _, l := range c.lowers {
				lowers = append(lowers, mkTree(t, l...))
			}
			got, err := Changes(mkTree(t, c.upper...), lowers, false)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, ch := range got {
				lines = append(lines, ch.String())
			}
			if strings.Join(lines, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestHideMountPoints(t *testing.T) {
	dests := []string{"/proc", "/etc/hosts", "/etc/resolv.conf", "/dev/shm", "/data", "/srv/www"}
	for _, c := range []struct {
		name     string
		in, want []string
	}{
		{"only mount targets", []string{"C /etc", "A /etc/hosts", "A /etc/resolv.conf"}, nil},
		{"a real change keeps its dir", []string{"C /etc", "A /etc/hosts", "C /etc/passwd"}, []string{"C /etc", "C /etc/passwd"}},
		{"a deleted mount target stays", []string{"C /etc", "D /etc/hosts"}, []string{"C /etc", "D /etc/hosts"}},
		{"a sibling with the prefix is not below", []string{"A /dev", "A /dev/shm", "A /dev2"}, []string{"A /dev2"}},
		{"a file under a new mount dir is a change", []string{"A /dev", "A /dev/shm", "A /dev/x"}, []string{"A /dev", "A /dev/x"}},
		// Volumes (issue 11): the mount point, what lies under it, the
		// directories made to reach it.
		{"a volume's mount point and what it hides", []string{"A /data", "A /data/f", "A /data/sub", "A /data/sub/g", "D /data/old"}, nil},
		{"dirs made to reach a mount point", []string{"A /srv", "A /srv/www", "A /srv/www/index.html"}, nil},
		{"a change beside a mount point stays", []string{"A /data2", "A /srv", "A /srv/www", "A /srv/y"}, []string{"A /data2", "A /srv", "A /srv/y"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in []Change
			for _, l := range c.in {
				in = append(in, Change{Kind: ChangeKind(l[0]), Path: l[2:]})
			}
			var got []string
			for _, ch := range hideMountPoints(in, dests) {
				got = append(got, ch.String())
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
