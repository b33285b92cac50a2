package fs

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []string
		want mountOpts
	}{
		{"proc", []string{"nosuid", "noexec", "nodev"}, mountOpts{flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV}},
		{"dev tmpfs", []string{"nosuid", "strictatime", "mode=755", "size=65536k"}, mountOpts{flags: unix.MS_NOSUID | unix.MS_STRICTATIME, data: "mode=755,size=65536k"}},
		{"devpts", []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}, mountOpts{flags: unix.MS_NOSUID | unix.MS_NOEXEC, data: "newinstance,ptmxmode=0666,mode=0620,gid=5"}},
		{"rbind rprivate", []string{"rbind", "rprivate"}, mountOpts{flags: unix.MS_BIND | unix.MS_REC, propagation: unix.MS_PRIVATE | unix.MS_REC}},
		{"later word wins", []string{"ro", "rw", "nosuid", "suid"}, mountOpts{}},
		{"bind ro", []string{"bind", "ro"}, mountOpts{flags: unix.MS_BIND | unix.MS_RDONLY}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseMountOptions(tt.opts); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCommonParent(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  string
	}{
		{"layers", []string{"/var/lib/skiff/containers/c/upper", "/var/lib/skiff/layers/a/diff", "/var/lib/skiff/layers/b/diff"}, "/var/lib/skiff"},
		{"siblings", []string{"/a/b/x", "/a/b/y"}, "/a/b"},
		{"prefix is not a parent", []string{"/a/bc/x", "/a/b/y"}, "/a"},
		{"root", []string{"/x/1", "/y/2"}, "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := commonParent(tt.paths); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
