package e2e

// Issue 20's rootless tests of files: cp both ways, commit, a multi-stage
// build, bind mounts, named volumes, `-v SRC:DST:U` and an image whose
// files belong to several ids. Each checks owners inside the container
// (stat) and on the host, where a container's id n lands on the user's
// range (i20e2eUser.hostUID).

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// i20e2eRead reads a host file.
func i20e2eRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// i20e2eWant fails the test unless a command as the user printed want
// and exited 0.
func i20e2eWant(t *testing.T, u *i20e2eUser, want string, args ...string) {
	t.Helper()
	if r := u.st.skiff(nil, args...); r.code != 0 || r.stdout != want {
		t.Errorf("skiff %s: want exit 0 and %q; %v", strings.Join(args, " "), want, r)
	}
}

// cp in and out of a running container (the monitor runs it inside the
// container's namespace) and of a stopped one (a fresh namespace).
func i20e2eCp(t *testing.T, u *i20e2eUser) {
	bb := i20e2eBusybox(t, u)
	host := u.dir(t, "cp")
	in := filepath.Join(host, "in.txt")
	u.writeFile(t, in, "to-container\n")
	t.Run("running", func(t *testing.T) {
		id := u.st.runD(t, bb, "sleep", "300")
		u.st.must(t, "exec", id, "sh", "-c", "echo from-container > /out.txt && chown 1000:1000 /out.txt")
		u.st.must(t, "cp", in, id+":/in.txt")
		i20e2eWant(t, u, "to-container\n0:0\n", "exec", id, "sh", "-c", "cat /in.txt; stat -c %u:%g /in.txt")
		plain, archive := filepath.Join(host, "out-plain"), filepath.Join(host, "out-a")
		u.st.must(t, "cp", id+":/out.txt", plain)
		u.st.must(t, "cp", "-a", id+":/out.txt", archive)
		i20e2eCpOut(t, u, plain, fmt.Sprintf("%d:%d", u.uid, u.gid))
		i20e2eCpOut(t, u, archive, fmt.Sprintf("%d:%d", u.hostUID(1000), u.hostGID(1000)))
	})
	t.Run("stopped", func(t *testing.T) {
		id := u.st.create(t, bb, "sh", "-c", "cat /in.txt; stat -c %u:%g /in.txt")
		u.st.must(t, "cp", in, id+":/in.txt")
		back := filepath.Join(host, "back.txt")
		u.st.must(t, "cp", id+":/in.txt", back)
		if got := i20e2eRead(t, back); got != "to-container\n" {
			t.Errorf("cp out of a stopped container: %q, want what cp put in", got)
		}
		if got, want := i20e2eStat(t, back), fmt.Sprintf("%d:%d", u.uid, u.gid); got != want {
			t.Errorf("cp out of a stopped container wrote a file of %s, want the user's %s", got, want)
		}
		i20e2eWant(t, u, "to-container\n0:0\n", "start", "-a", id)
	})
}

// i20e2eCpOut checks what cp wrote on the host: content and owner.
func i20e2eCpOut(t *testing.T, u *i20e2eUser, path, owner string) {
	t.Helper()
	if got := i20e2eRead(t, path); got != "from-container\n" {
		t.Errorf("%s has %q", filepath.Base(path), got)
	}
	if got := i20e2eStat(t, path); got != owner {
		t.Errorf("%s is owned by %s on the host, want %s (docker's cp: the caller's, -a the container's)", filepath.Base(path), got, owner)
	}
}

// commit, diff and export of an exited container, commit of a running
// one; the new image and the export keep a file's owner (33:33).
func i20e2eCommit(t *testing.T, u *i20e2eUser) {
	bb := i20e2eBusybox(t, u)
	name := uniqueName(t)
	u.st.must(t, "run", "--name", name, bb, "sh", "-c", "echo committed > /committed && chown 33:33 /committed")
	u.st.cleanup(t, name)
	ref := "i20/" + name + ":exited"
	i15miscCommit(t, u.st, name, ref)
	t.Cleanup(func() { u.st.skiff(nil, "rmi", ref) })
	i20e2eWant(t, u, "committed\n33:33\n", "run", "--rm", ref, "sh", "-c", "cat /committed; stat -c %u:%g /committed")
	if diff := u.st.must(t, "diff", name).stdout; !strings.Contains(diff, "A /committed\n") {
		t.Errorf("diff: %q, want A /committed", diff)
	}
	if h := tarEntries(t, u.st.mustTar(t, "export", name))["committed"]; h == nil || h.Uid != 33 || h.Gid != 33 {
		t.Errorf("export: /committed's header %+v, want owner 33:33 (the container's view)", h)
	}

	id := u.st.runD(t, bb, "sh", "-c", "echo live > /live && echo written && exec sleep 300")
	i20e2eWaitLogs(t, u, id, "written\n")
	// Without a pause, then docker's default (pause while committing),
	// which needs the freezer where the container's cgroup has one.
	for _, flags := range [][]string{{"--pause=false"}, nil} {
		t.Run(fmt.Sprint("running ", flags), func(t *testing.T) {
			ref := "i20/" + name + ":running" + fmt.Sprint(len(flags))
			i15miscCommit(t, u.st, id, ref, flags...)
			t.Cleanup(func() { u.st.skiff(nil, "rmi", ref) })
			i20e2eWant(t, u, "live\n", "run", "--rm", ref, "cat", "/live")
		})
	}
}

// A two-stage build: RUN in both stages, COPY --from and COPY from the
// context (root's inside, whoever owns it on the host).
func i20e2eBuild(t *testing.T, u *i20e2eUser) {
	bb := i20e2eBusybox(t, u)
	ctx := u.dir(t, "ctx")
	u.writeFile(t, filepath.Join(ctx, "ctx.txt"), "from-context\n")
	u.writeFile(t, filepath.Join(ctx, "Dockerfile"), "FROM "+bb+" AS stage\n"+
		"RUN mkdir /out && echo built-$((6*7)) > /out/msg && chown 1000:33 /out/msg\n"+
		"FROM "+bb+"\n"+
		"COPY --from=stage /out/msg /msg\n"+
		"COPY ctx.txt /ctx.txt\n"+
		"RUN cat /msg /ctx.txt > /both && chown 33:33 /both\n")
	ref := "i20/" + uniqueName(t) + ":built"
	if r := u.st.skiff(nil, "build", "-t", ref, ctx); r.code != 0 {
		t.Fatalf("build: %v", r)
	}
	t.Cleanup(func() { u.st.skiff(nil, "rmi", ref) })
	i20e2eWant(t, u, "built-42\nfrom-context\n33:33\n0:0\n", "run", "--rm", ref, "sh", "-c", "cat /both; stat -c %u:%g /both /ctx.txt")
}

// Bind mounts keep host ownership: the user's dir is root's inside, what
// container root makes there is the user's on the host, what uid 1000
// makes the range's 1000th id's, and a host file of an id the namespace
// does not map shows as nobody.
func i20e2eBind(t *testing.T, u *i20e2eUser) {
	bb := i20e2eBusybox(t, u)
	d := u.dir(t, "bind")
	if err := os.WriteFile(filepath.Join(d, "hosts-root"), []byte("root's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	i20e2eWant(t, u, "0:0\n65534:65534\n", "run", "--rm", "-v", d+":/data", bb, "sh", "-c",
		"echo by-root > /data/root-file && stat -c %u:%g /data /data/hosts-root")
	if got, want := i20e2eStat(t, filepath.Join(d, "root-file")), fmt.Sprintf("%d:%d", u.uid, u.gid); got != want {
		t.Errorf("a file container root made on a bind mount is %s on the host, want the user's %s", got, want)
	}
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	u.st.must(t, "run", "--rm", "-u", "1000:1000", "-v", d+":/data", bb, "touch", "/data/app-file")
	if got, want := i20e2eStat(t, filepath.Join(d, "app-file")), fmt.Sprintf("%d:%d", u.hostUID(1000), u.hostGID(1000)); got != want {
		t.Errorf("a file container uid 1000 made on a bind mount is %s on the host, want %s", got, want)
	}
}

// A named volume: in the user's store, its data kept between runs with
// their owners, the image's dir's owner copied up into a new one.
func i20e2eNamedVolume(t *testing.T, u *i20e2eUser) {
	bb := i20e2eBusybox(t, u)
	vol := uniqueName(t)
	i20e2eWant(t, u, vol+"\n", "volume", "create", vol)
	t.Cleanup(func() { u.st.skiff(nil, "volume", "rm", "-f", vol) })
	u.st.must(t, "run", "--rm", "-v", vol+":/v", bb, "sh", "-c", "echo in-volume > /v/f && chown 1000:1000 /v/f")
	i20e2eWant(t, u, "in-volume\n1000:1000\n", "run", "--rm", "-v", vol+":/v", bb, "sh", "-c", "cat /v/f; stat -c %u:%g /v/f")
	mp := strings.TrimSpace(u.st.must(t, "volume", "inspect", "-f", "{{.Mountpoint}}", vol).stdout)
	if !strings.HasPrefix(mp, u.st.root+"/") {
		t.Errorf("the volume's mountpoint %s is not in the user's store %s", mp, u.st.root)
	}
	if got, want := i20e2eStat(t, filepath.Join(mp, "f")), fmt.Sprintf("%d:%d", u.hostUID(1000), u.hostGID(1000)); got != want {
		t.Errorf("the volume's file of uid 1000 is %s on the host, want %s", got, want)
	}
	app := uniqueName(t)
	t.Cleanup(func() { u.st.skiff(nil, "volume", "rm", "-f", app) })
	i20e2eWant(t, u, "1000:1000\n", "run", "--rm", "-v", app+":/home/app", bb, "stat", "-c", "%u:%g", "/home/app")
	u.st.must(t, "volume", "rm", vol)
}

// -v SRC:DST:U chowns the source to the container user's ids: 1000:1000
// inside, the range's 1000th id on the host.
func i20e2eChownVolume(t *testing.T, u *i20e2eUser) {
	d := u.dir(t, "chown")
	u.writeFile(t, filepath.Join(d, "existing"), "x\n")
	i20e2eWant(t, u, "1000:1000 /data\n1000:1000 /data/existing\n1000:1000 /data/new\n",
		"run", "--rm", "-u", "1000:1000", "-v", d+":/data:U", i20e2eBusybox(t, u), "sh", "-c",
		"touch /data/new && stat -c '%u:%g %n' /data /data/existing /data/new")
	want := fmt.Sprintf("%d:%d", u.hostUID(1000), u.hostGID(1000))
	for _, p := range []string{d, filepath.Join(d, "existing"), filepath.Join(d, "new")} {
		if got := i20e2eStat(t, p); got != want {
			t.Errorf("%s is %s on the host after :U, want %s", p, got, want)
		}
	}
}

// An image's files of several ids keep their owners inside, and are the
// range's ids on the host.
func i20e2eImageOwners(t *testing.T, u *i20e2eUser, ref string) {
	r := u.st.skiff(nil, "pull", ref)
	if r.code != 0 {
		t.Fatalf("pull: %v", r)
	}
	var paths []string
	var want strings.Builder
	for _, o := range i20e2eOwners {
		paths = append(paths, "/"+o.path)
		fmt.Fprintf(&want, "/%s %d:%d\n", o.path, o.uid, o.gid)
	}
	i20e2eWant(t, u, want.String(), append([]string{"run", "--rm", ref, "stat", "-c", "%n %u:%g"}, paths...)...)
	roots, _ := filepath.Glob(filepath.Join(u.st.root, "layers", "*", "diff", "owners", "nobody"))
	if len(roots) != 1 {
		t.Fatalf("the owners layer in %s/layers: found %v, want one", u.st.root, roots)
	}
	diff := filepath.Dir(filepath.Dir(roots[0]))
	for _, o := range i20e2eOwners {
		if got, want := i20e2eStat(t, filepath.Join(diff, o.path)), fmt.Sprintf("%d:%d", u.hostUID(o.uid), u.hostGID(o.gid)); got != want {
			t.Errorf("%s (%d:%d in the tar) is %s on the host, want %s", o.path, o.uid, o.gid, got, want)
		}
	}
}

// The config's storage-driver forces fuse-overlayfs: where the user
// cannot open /dev/fuse (root's 0600 here) one line says so; given access
// for the test (an ACL entry for the user), the container runs on it.
func i20e2eFuseOverlay(t *testing.T, u *i20e2eUser) {
	bb := i20e2eBusybox(t, u)
	if _, err := exec.LookPath("fuse-overlayfs"); err != nil {
		t.Skip("fuse-overlayfs not installed")
	}
	cfg := filepath.Join(u.home, "fuse-config.json")
	u.writeFile(t, cfg, `{"dns": ["`+i14e2eUpstreamDNS+`"], "storage-driver": "fuse-overlayfs"}`)
	run := func() result {
		return u.st.skiff(nil, "--config", cfg, "run", "--rm", bb, "sh", "-c", "echo on-fuse > /f && cat /f && grep -c '^[^ ]* / fuse.fuse-overlayfs ' /proc/mounts")
	}
	if _, err := u.cmdOut("sh", "-c", "exec 3<>/dev/fuse"); err != nil {
		r := run()
		runError(t, r, 125)
		if !strings.Contains(r.stderr, "/dev/fuse") {
			t.Errorf("the user cannot open /dev/fuse: want the error to say so; %v", r)
		}
		if !i20e2eGrantFuse(t, u) {
			return
		}
	}
	if r := run(); r.code != 0 || r.stdout != "on-fuse\n1\n" {
		t.Errorf("run on fuse-overlayfs: want on-fuse and its root on fuse; %v", r)
	}
	if ps := u.st.must(t, "ps", "-aq").stdout; ps != "" {
		t.Errorf("the runs left containers: %q", ps)
	}
}

// i20e2eGrantFuse lets the user open /dev/fuse until the test ends: an
// entry for it in the node's access ACL (setfacl's system.posix_acl_access
// xattr), removed after with the mode restored.
func i20e2eGrantFuse(t *testing.T, u *i20e2eUser) bool {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/dev/fuse", &st); err != nil {
		t.Logf("no /dev/fuse: %v", err)
		return false
	}
	// struct posix_acl_xattr_header (version 2), then entries {tag u16,
	// perm u16, id u32} sorted by tag: user::rw- user:UID:rw- group::---
	// mask::rw- other::---.
	const undef = 0xffffffff
	acl := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range [][3]uint32{{0x01, 6, undef}, {0x02, 6, uint32(u.uid)}, {0x04, 0, undef}, {0x10, 6, undef}, {0x20, 0, undef}} {
		acl = binary.LittleEndian.AppendUint16(acl, uint16(e[0]))
		acl = binary.LittleEndian.AppendUint16(acl, uint16(e[1]))
		acl = binary.LittleEndian.AppendUint32(acl, e[2])
	}
	if err := unix.Setxattr("/dev/fuse", "system.posix_acl_access", acl, 0); err != nil {
		t.Logf("cannot give the user /dev/fuse (%v): fuse-overlayfs is not run", err)
		return false
	}
	t.Cleanup(func() {
		if err := unix.Removexattr("/dev/fuse", "system.posix_acl_access"); err != nil {
			t.Errorf("removing the test's ACL of /dev/fuse: %v", err)
		}
		if err := unix.Chmod("/dev/fuse", st.Mode&0o7777); err != nil {
			t.Errorf("restoring /dev/fuse's mode %o: %v", st.Mode&0o7777, err)
		}
	})
	if _, err := u.cmdOut("sh", "-c", "exec 3<>/dev/fuse"); err != nil {
		t.Errorf("the user still cannot open /dev/fuse after the ACL: %v", err)
		return false
	}
	return true
}
