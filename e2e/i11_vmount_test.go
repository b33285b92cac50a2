package e2e

// Issue 11, a container's mounts from the flags to the init: binds, named
// and anonymous volumes with copy-up, --volumes-from, tmpfs, --read-only,
// and mount targets that an image's symlinks try to send onto the host.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/skiff-dev/skiff/internal/testenv"
	"github.com/skiff-dev/skiff/state"
)

// i11vmountImages are busybox plus: /data owned 1234:1234 (mode 0750)
// holding a file owned 1234:1234; /vol/seed; /evil -> ../../.. and
// /evil2 -> / (links a mount target may go through). withVolume is the
// same with VOLUME /vol.
type i11vmountImages struct{ plain, withVolume string }

var (
	i11vmountOnce sync.Once
	i11vmountImg  i11vmountImages
	i11vmountErr  error
)

func i11vmountImage(t *testing.T) i11vmountImages {
	t.Helper()
	i11vmountOnce.Do(func() {
		bb, err := testenv.BusyboxImage()
		if err != nil {
			i11vmountErr = err
			return
		}
		layer, err := testenv.LayerFromFiles([]testenv.File{
			{Name: "data", Type: '5', Mode: 0o750, UID: 1234, GID: 1234},
			{Name: "data/owned", Body: "from image\n", Mode: 0o640, UID: 1234, GID: 1234},
			testenv.Dir("vol"), testenv.Reg("vol/seed", "seed\n"),
			testenv.Symlink("evil", "../../.."), testenv.Symlink("evil2", "/"),
		})
		if err != nil {
			i11vmountErr = err
			return
		}
		cf, _ := bb.ConfigFile()
		cfg := cf.Config
		img, err := testenv.ImageFromLayers(bb, cfg, layer)
		if err != nil {
			i11vmountErr = err
			return
		}
		i11vmountImg.plain = reg.Addr + "/library/i11vmount:latest"
		if _, i11vmountErr = testenv.Push(img, i11vmountImg.plain); i11vmountErr != nil {
			return
		}
		cfg.Volumes = map[string]struct{}{"/vol": {}}
		img, err = testenv.ImageFromLayers(bb, cfg, layer)
		if err != nil {
			i11vmountErr = err
			return
		}
		i11vmountImg.withVolume = reg.Addr + "/library/i11vmount-vol:latest"
		_, i11vmountErr = testenv.Push(img, i11vmountImg.withVolume)
	})
	if i11vmountErr != nil {
		t.Fatalf("pushing the test images: %v", i11vmountErr)
	}
	return i11vmountImg
}

// i11vmountRecordMount is the mount on dest in container id's record.
func i11vmountRecordMount(t *testing.T, s *store, id, dest string) state.Mount {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.root, "containers", id, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec state.Container
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	for _, m := range rec.Host.Mounts {
		if m.Destination == dest {
			return m
		}
	}
	t.Fatalf("the record has no mount on %s: %+v", dest, rec.Host)
	return state.Mount{}
}

// i11vmountRun runs `run --rm args... sh -c script` and returns the result.
func i11vmountRun(s *store, args []string, script string) result {
	return s.skiff(nil, append(append([]string{"run", "--rm"}, args...), "sh", "-c", script)...)
}

func TestI11VmountBinds(t *testing.T) {
	s := shared(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "in"), []byte("host file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := i11vmountRun(s, []string{"-v", host + ":/mnt/rw", fx.busybox}, "cat /mnt/rw/in && echo made > /mnt/rw/out")
	if r.code != 0 || r.stdout != "host file\n" {
		t.Fatalf("rw bind: %v", r)
	}
	if b, err := os.ReadFile(filepath.Join(host, "out")); err != nil || string(b) != "made\n" {
		t.Errorf("the container's write did not reach the host: %q, %v", b, err)
	}

	r = i11vmountRun(s, []string{"-v", host + ":/mnt/ro:ro", fx.busybox}, "cat /mnt/ro/in; touch /mnt/ro/nope")
	if r.code != 1 || r.stdout != "host file\n" || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("ro bind: want the read to work and the write to fail (exit 1, Read-only file system); %v", r)
	}
	if _, err := os.Stat(filepath.Join(host, "nope")); err == nil {
		t.Errorf("a write through a :ro bind reached the host")
	}

	r = i11vmountRun(s, []string{"--mount", "type=bind,source=" + host + ",target=/m,readonly", fx.busybox}, "touch /m/nope")
	if r.code != 1 || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("--mount readonly bind: %v", r)
	}

	missing := filepath.Join(t.TempDir(), "not", "there")
	r = i11vmountRun(s, []string{"-v", missing + ":/made", fx.busybox}, "echo x > /made/f")
	if fi, err := os.Stat(missing); r.code != 0 || err != nil || !fi.IsDir() {
		t.Fatalf("a missing -v host dir must be created (as docker does): %v; stat %v", r, err)
	}

	file := filepath.Join(host, "in")
	r = i11vmountRun(s, []string{"-v", file + ":/etc/one-file:ro", fx.busybox}, "cat /etc/one-file")
	if r.code != 0 || r.stdout != "host file\n" {
		t.Errorf("a file bind: %v", r)
	}
}

func TestI11VmountFlagErrors(t *testing.T) {
	s := shared(t)
	exists := t.TempDir()
	gone := filepath.Join(t.TempDir(), "gone")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--mount", "type=bind,source=" + gone + ",target=/x"}, `invalid mount config for type "bind": bind source path does not exist: ` + gone},
		{[]string{"--mount", "type=bind,source=rel,target=/x"}, `invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`},
		{[]string{"--mount", "type=bind,source=" + exists}, `invalid argument "type=bind,source=` + exists + `" for "--mount" flag: target is required`},
		{[]string{"-v", exists + ":/data", "-v", exists + ":/data/"}, "Duplicate mount point: /data"},
		{[]string{"-v", exists + ":/a:/b:/c"}, "invalid volume specification: '" + exists + ":/a:/b:/c'"},
		{[]string{"-v", exists + ":rel"}, "invalid volume specification: '" + exists + `:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`},
		{[]string{"-v", exists + ":/x:bogus"}, "invalid mode: bogus"},
		{[]string{"-v", "bad/name:/x"}, `create bad/name: "bad/name" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`},
		{[]string{"--tmpfs", "rel"}, "invalid mount path: 'rel' mount path must be absolute"},
		{[]string{"--volumes-from", "i11vmount-no-such"}, "No such container: i11vmount-no-such"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := s.skiff(nil, append(append([]string{"run", "--rm"}, tc.args...), fx.busybox, "true")...)
			runError(t, r, 125)
			if !strings.HasSuffix(strings.TrimSpace(r.stderr), tc.want) {
				t.Errorf("want docker's %q; %v", tc.want, r)
			}
		})
	}
	if _, err := os.Stat(gone); err == nil {
		t.Errorf("a --mount bind's missing source was created")
	}
	if _, err := os.Stat(filepath.Join(s.root, "volumes", "bad")); err == nil {
		t.Errorf("a refused volume name made something")
	}
}

func TestI11VmountNamedVolume(t *testing.T) {
	s := shared(t)
	img := i11vmountImage(t)
	name := "i11vmount-" + strings.ToLower(strings.ReplaceAll(uniqueName(t), "e2e-", ""))
	t.Cleanup(func() { s.skiff(nil, "volume", "rm", name) })
	r := i11vmountRun(s, []string{"-v", name + ":/data", img.plain},
		"stat -c '%u:%g %a' /data /data/owned && cat /data/owned && echo kept > /data/new")
	want := "1234:1234 750\n1234:1234 640\nfrom image\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("first container: want the image's /data copied up with owners and modes %q; %v", want, r)
	}
	data := filepath.Join(s.root, "volumes", name, "_data")
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(data, "owned"), &st); err != nil || st.Uid != 1234 || st.Gid != 1234 {
		t.Errorf("on the host, the volume's file is not 1234:1234: %+v, %v", st, err)
	}
	// A second container, another image: the data outlived the first.
	r = i11vmountRun(s, []string{"-v", name + ":/srv:ro", fx.busybox}, "cat /srv/new /srv/owned")
	if r.code != 0 || r.stdout != "kept\nfrom image\n" {
		t.Errorf("second container: want the first one's data; %v", r)
	}
	// Not empty any more: no second copy-up over what the user changed.
	r = i11vmountRun(s, []string{"-v", name + ":/data", img.plain}, "rm /data/owned")
	r = i11vmountRun(s, []string{"-v", name + ":/data", img.plain}, "ls /data")
	if r.code != 0 || r.stdout != "new\n" {
		t.Errorf("a non-empty volume was filled again: %v", r)
	}
	// volume-nocopy: an empty new volume stays empty.
	nocopy := name + "-nocopy"
	t.Cleanup(func() { s.skiff(nil, "volume", "rm", nocopy) })
	r = i11vmountRun(s, []string{"--mount", "type=volume,source=" + nocopy + ",target=/data,volume-nocopy", img.plain}, "ls -A /data")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("volume-nocopy: want an empty volume; %v", r)
	}
}

func TestI11VmountImageVolume(t *testing.T) {
	s := shared(t)
	img := i11vmountImage(t)
	id := s.create(t, img.withVolume, "sh", "-c", "cat /vol/seed; grep -c ' /vol ' /proc/mounts")
	r := s.must(t, "start", "-a", id)
	if r.stdout != "seed\n1\n" {
		t.Errorf("image VOLUME /vol: want its content copied into a mounted anonymous volume; %v", r)
	}
	anon := i11vmountRecordMount(t, s, id, "/vol")
	if anon.Type != "volume" || !anon.Anonymous || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(anon.Name) {
		t.Errorf("the record's /vol is not an anonymous volume: %+v", anon)
	}
	if b, err := os.ReadFile(filepath.Join(anon.Source, "seed")); err != nil || string(b) != "seed\n" {
		t.Errorf("the anonymous volume's data dir %s: %q, %v", anon.Source, b, err)
	}
	// A mount of the user's on the VOLUME path replaces it.
	host := t.TempDir()
	r = i11vmountRun(s, []string{"-v", host + ":/vol", img.withVolume}, "ls -A /vol")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("-v on the image's VOLUME path: want the (empty) bind; %v", r)
	}
}

func TestI11VmountVolumesFrom(t *testing.T) {
	s := shared(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "f"), []byte("shared\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := s.create(t, "-v", host+":/shared", fx.busybox, "true")
	r := i11vmountRun(s, []string{"--volumes-from", src, fx.busybox}, "cat /shared/f && echo rw > /shared/rw")
	if r.code != 0 || r.stdout != "shared\n" {
		t.Errorf("--volumes-from: %v", r)
	}
	if _, err := os.Stat(filepath.Join(host, "rw")); err != nil {
		t.Errorf("--volumes-from (rw): the write did not reach the source: %v", err)
	}
	r = i11vmountRun(s, []string{"--volumes-from", src + ":ro", fx.busybox}, "cat /shared/f; touch /shared/nope")
	if r.code != 1 || r.stdout != "shared\n" || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("--volumes-from :ro: want read but no write; %v", r)
	}
}

func TestI11VmountTmpfs(t *testing.T) {
	s := shared(t)
	for _, tc := range []struct {
		args []string
		dest string
		want *regexp.Regexp
	}{
		{[]string{"--tmpfs", "/t:size=1m,mode=1770"}, "/t", regexp.MustCompile(`^tmpfs /t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=1770`)},
		{[]string{"--mount", "type=tmpfs,target=/m,tmpfs-size=2097152,tmpfs-mode=700"}, "/m", regexp.MustCompile(`^tmpfs /m tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k,mode=700`)},
		{[]string{"--tmpfs", "/x:exec"}, "/x", regexp.MustCompile(`^tmpfs /x tmpfs rw,nosuid,nodev,relatime`)},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := i11vmountRun(s, append(tc.args, fx.busybox), "grep ' "+tc.dest+" ' /proc/mounts && touch "+tc.dest+"/w")
			if r.code != 0 || !tc.want.MatchString(r.stdout) {
				t.Errorf("want %s in /proc/mounts; %v", tc.want, r)
			}
		})
	}
}

func TestI11VmountReadOnly(t *testing.T) {
	s := shared(t)
	r := i11vmountRun(s, []string{"--read-only", "--tmpfs", "/scratch", "-w", "/made/by/workdir", fx.busybox},
		"touch /scratch/ok /dev/shm/ok && echo writable; touch /etc/nope")
	if r.code != 1 || r.stdout != "writable\n" || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("--read-only: want the tmpfs and /dev/shm writable and the root not; %v", r)
	}
	r = i11vmountRun(s, []string{"--read-only", fx.busybox}, "awk '$2 == \"/\" {print $4}' /proc/mounts | cut -d, -f1")
	if r.code != 0 || r.stdout != "ro\n" {
		t.Errorf("--read-only: / is not mounted ro: %v", r)
	}
}

// TestI11VmountSymlinkTarget mounts through image symlinks that point out
// of the root (relative ../../.. and absolute /): the mount must land inside
// the container's root, and nothing may appear on the host.
func TestI11VmountSymlinkTarget(t *testing.T) {
	s := shared(t)
	img := i11vmountImage(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "f"), []byte("bound\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, link := range []string{"/evil", "/evil2"} {
		t.Run(link, func(t *testing.T) {
			marker := "i11vmount-marker-" + strings.TrimPrefix(link, "/") + "-" + filepath.Base(host)
			onHost := filepath.Join("/", marker)
			t.Cleanup(func() { os.RemoveAll(onHost) })
			for _, args := range [][]string{
				{"-v", host + ":" + link + "/" + marker},
				{"--tmpfs", link + "/" + marker + "-tmpfs"},
				{"-v", "i11vmount-link-vol:" + link + "/" + marker + "-vol"},
			} {
				r := i11vmountRun(s, append(args, img.plain), "ls /; cat /"+marker+"/f 2>/dev/null; true")
				if r.code != 0 {
					t.Errorf("%v: %v", args, r)
				}
				if args[0] == "-v" && !strings.HasSuffix(args[1], "-vol") && !strings.Contains(r.stdout, "bound\n") {
					t.Errorf("%v: the bind is not at /%s inside the container; %v", args, marker, r)
				}
				for _, p := range []string{onHost, onHost + "-tmpfs", onHost + "-vol"} {
					if _, err := os.Lstat(p); err == nil {
						t.Errorf("%v: %s appeared on the host", args, p)
					}
				}
			}
			s.skiff(nil, "volume", "rm", "i11vmount-link-vol")
		})
	}
	// A target that is the link itself resolves to the container's root:
	// refused, at start for a bind, at create for a volume's copy-up.
	for _, args := range [][]string{
		{"-v", host + ":/evil"}, {"-v", host + ":/evil2"}, {"--tmpfs", "/evil2"},
		{"-v", "i11vmount-root-vol:/evil"},
	} {
		r := s.skiff(nil, append(append([]string{"run", "--rm"}, args...), img.plain, "true")...)
		runError(t, r, 125)
		if !strings.Contains(r.stderr, "resolves to the container's root") {
			t.Errorf("%v: want the mount refused; %v", args, r)
		}
	}
	s.skiff(nil, "volume", "rm", "i11vmount-root-vol")
}
