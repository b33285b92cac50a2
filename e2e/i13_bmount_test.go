package e2e

// skiff build (issue 13): RUN --mount (cache, bind, secret, tmpfs), build
// --secret, RUN --network and builder prune, on the test registry's
// busybox, every effect checked by running the result or reading the store.

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// i13bmountCat runs sh -c cmd in image as root and returns its output.
func (s *store) i13bmountCat(t *testing.T, image, cmd string) string {
	t.Helper()
	return s.i12bexecOut(t, "run", "--rm", "-u", "0", "--entrypoint", "/bin/sh", image, "-c", cmd)
}

// A cache mount keeps what a RUN wrote there for the next build's RUN, is
// in no layer, and builder prune empties it.
func TestI13BmountCache(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	dir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nRUN --mount=type=cache,target=/cache,id=c1 echo run >> /cache/log && wc -l < /cache/log > /count\n", fx.busybox),
	})
	for i, want := range []string{"1", "2"} {
		tag := fmt.Sprintf("bmount-cache:%d", i)
		st.i12bexecBuild(t, "--no-cache", "-t", tag, dir)
		if got := st.i13bmountCat(t, tag, "cat /count"); got != want {
			t.Errorf("build %d: the cache held %s runs, want %s", i+1, got, want)
		}
		if got := st.i13bmountCat(t, tag, "ls -A /cache 2>/dev/null; echo end"); got != "end" {
			t.Errorf("build %d: the image's /cache holds %q, want nothing", i+1, got)
		}
	}
	// The mount is not in the cache key: an unchanged rebuild hits.
	if r := st.i12bexecBuild(t, "-t", "bmount-cache:hit", dir); strings.Contains(r.stdout, "Running in") {
		t.Errorf("an unchanged rebuild ran its RUN:\n%s", r.stdout)
	}
	r := st.must(t, "builder", "prune", "-f")
	if !strings.HasPrefix(r.stdout, "Deleted build cache objects:\n") || !strings.Contains(r.stdout, "\nTotal reclaimed space: ") {
		t.Errorf("builder prune printed %q", r.stdout)
	}
	if r := st.must(t, "builder", "prune", "-f"); r.stdout != "Total reclaimed space: 0B\n" {
		t.Errorf("a second builder prune printed %q", r.stdout)
	}
	// One locked cache mounted twice in a RUN is the same directory (and
	// no wait on its own lock).
	twice := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nRUN --mount=type=cache,target=/a,id=c2,sharing=locked --mount=type=cache,target=/b,id=c2,sharing=locked echo same > /a/f && cat /b/f > /same\n", fx.busybox),
	})
	st.i12bexecBuild(t, "-t", "bmount-cache:twice", twice)
	if got := st.i13bmountCat(t, "bmount-cache:twice", "cat /same"); got != "same" {
		t.Errorf("a locked cache mounted twice: /b saw %q, want same", got)
	}
	st.i12bexecBuild(t, "--no-cache", "-t", "bmount-cache:pruned", dir)
	if got := st.i13bmountCat(t, "bmount-cache:pruned", "cat /count"); got != "1" {
		t.Errorf("after builder prune the cache held %s runs, want 1", got)
	}
}

// A bind mount reads a path of another stage, an image or the context (as
// .dockerignore leaves it), read-only unless rw, and an rw mount's writes
// go nowhere.
func TestI13BmountBind(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	dir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf(`FROM %s AS tools
RUN mkdir /data && echo from-stage > /data/f

FROM %s
RUN --mount=type=bind,from=tools,source=/data,target=/mnt cat /mnt/f > /got-stage
RUN --mount=type=bind,source=app,target=/ctx cat /ctx/a.txt > /got-context && ls /ctx > /ctx-ls
RUN --mount=type=bind,from=tools,source=/data,target=/mnt (echo x > /mnt/w) 2>/dev/null && echo writable > /ro || echo readonly > /ro
RUN --mount=type=bind,from=tools,source=/data,target=/mnt,rw echo written > /mnt/w && cat /mnt/w > /rw
RUN --mount=type=bind,from=tools,source=/data,target=/mnt ls /mnt > /after-rw
RUN --mount=type=bind,from=%s,source=/bin/busybox,target=/bb cmp /bb /bin/busybox && echo from-image > /from-image
`, fx.busybox, fx.busybox, fx.busybox),
		"app/a.txt":     "from-context\n",
		"app/ignored":   "not sent\n",
		".dockerignore": "app/ignored\n",
	})
	st.i12bexecBuild(t, "-t", "bmount-bind", dir)
	for _, c := range []struct{ cmd, want string }{
		{"cat /got-stage", "from-stage"},
		{"cat /got-context", "from-context"},
		{"cat /ctx-ls", "a.txt"}, // .dockerignore applies
		{"cat /ro", "readonly"},
		{"cat /rw", "written"},
		{"cat /after-rw", "f"},
		{"cat /from-image", "from-image"},                // a file of an image bound
		{"ls -A /mnt /ctx 2>/dev/null; echo end", "end"}, // no mount point left
	} {
		if got := st.i13bmountCat(t, "bmount-bind", c.cmd); got != c.want {
			t.Errorf("%s = %q, want %q", c.cmd, got, c.want)
		}
	}
	// The bound content is in the step's cache key (not its mtime): a
	// touched context file hits, a changed one runs the RUN that binds it
	// again.
	now := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "app", "a.txt"), now, now); err != nil {
		t.Fatal(err)
	}
	if r := st.i12bexecBuild(t, "-t", "bmount-bind:touched", dir); strings.Contains(r.stdout, "Running in") {
		t.Errorf("a touched context file ran a RUN again:\n%s", r.stdout)
	}
	if err := os.WriteFile(filepath.Join(dir, "app", "a.txt"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st.i12bexecBuild(t, "-t", "bmount-bind:2", dir)
	if got := st.i13bmountCat(t, "bmount-bind:2", "cat /got-context"); got != "changed" {
		t.Errorf("after a context change /got-context = %q, want changed", got)
	}
}

// A secret is readable in its RUN, from a file or an environment
// variable, as a file or (env=) a variable of the RUN's process, and is in
// no layer, no config (history) and no inspect.
func TestI13BmountSecret(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	const fileSecret, envSecret = "s3cr3t-from-file-5d1c", "s3cr3t-from-env-77ab"
	secretFile := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(secretFile, []byte(fileSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf(`FROM %s
RUN --mount=type=secret,id=tok test "$(sha256sum < /run/secrets/tok)" = "%x  -" && echo file-ok > /file-ok
RUN --mount=type=secret,id=envtok,target=/etc/tok,required test "$(sha256sum < /etc/tok)" = "%x  -" && echo env-ok > /env-ok
RUN --mount=type=secret,id=tok,uid=1000,mode=0440 stat -c '%%u %%a' /run/secrets/tok > /secret-stat
RUN --mount=type=secret,source=tok,env=TOK test "$(printf %%s "$TOK" | sha256sum)" = "%x  -" && echo env-var-ok > /env-var-ok
`, fx.busybox, sha256.Sum256([]byte(fileSecret)), sha256.Sum256([]byte(envSecret)), sha256.Sum256([]byte(fileSecret))),
	})
	r := st.skiffEnv(nil, []string{"BMOUNT_SECRET=" + envSecret}, "build", "--secret", "id=tok,src="+secretFile, "--secret", "id=envtok,env=BMOUNT_SECRET", "-t", "bmount-secret", dir)
	if r.code != 0 {
		t.Fatalf("build: %v", r)
	}
	if got := st.i13bmountCat(t, "bmount-secret", "cat /file-ok /env-ok /env-var-ok /secret-stat; ls -A /run/secrets 2>/dev/null; test -e /etc/tok || echo no-tok; test -e /run/secrets && echo has-run-secrets; true"); got != "file-ok\nenv-ok\nenv-var-ok\n1000 440\nno-tok" {
		t.Errorf("the RUNs saw %q, want file-ok, env-ok and no secret left", got)
	}
	inspect := st.must(t, "image", "inspect", "bmount-secret").stdout
	for _, s := range []string{fileSecret, envSecret} {
		if strings.Contains(inspect, s) || strings.Contains(r.stdout, s) {
			t.Errorf("%s is in inspect or the build's output", s)
		}
		for _, root := range []string{st.root, st.runroot} {
			if f := i13bmountFileHolding(t, root, s); f != "" {
				t.Errorf("%s is left in the store: %s", s, f)
			}
		}
	}
	// A required secret that was not given fails the RUN.
	r = st.skiff(nil, "build", "-t", "bmount-secret:missing", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "secret tok: not found") && !strings.Contains(r.stderr, "secret envtok: not found") {
		t.Errorf("a build without the required secret: %v", r)
	}
}

// i13bmountFileHolding is a file under root whose bytes contain s, "" if
// none: the store's layers are extracted, its configs plain JSON.
func i13bmountFileHolding(t *testing.T, root, s string) string {
	t.Helper()
	found := ""
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found != "" || !d.Type().IsRegular() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(s)) {
			found = p
		}
		return nil
	})
	return found
}

// A tmpfs mount is a tmpfs in its RUN and leaves nothing in the layer.
func TestI13BmountTmpfs(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	dir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nRUN --mount=type=tmpfs,target=/scratch echo t > /scratch/f && grep ' /scratch tmpfs ' /proc/mounts | cut -d' ' -f3 > /seen\n", fx.busybox),
	})
	st.i12bexecBuild(t, "-t", "bmount-tmpfs", dir)
	if got := st.i13bmountCat(t, "bmount-tmpfs", "cat /seen; ls -A /scratch 2>/dev/null; echo end"); got != "tmpfs\nend" {
		t.Errorf("got %q, want tmpfs seen and /scratch empty", got)
	}
}

// Mount types skiff does not make fail at parse with the instruction's
// line; a bad mount fails its step.
func TestI13BmountRefused(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	for _, tt := range []struct{ mount, want string }{
		{"type=ssh", "Dockerfile:3: RUN --mount=type=ssh is not supported yet"},
		{"type=nosuch,target=/x", `step 3/3: RUN: unsupported mount type "nosuch"`},
	} {
		dir := i12bexecContext(t, map[string]string{
			"Dockerfile": fmt.Sprintf("FROM %s\nRUN true\nRUN --mount=%s true\n", fx.busybox, tt.mount),
		})
		r := st.skiff(nil, "build", dir)
		if r.code != 1 || !strings.Contains(r.stderr, tt.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("--mount=%s: want exit 1 and one line with %q: %v", tt.mount, tt.want, r)
		}
	}
}

// RUN --network overrides the build's --network for its instruction.
func TestI13BmountNetwork(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	dir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nRUN --network=host readlink /proc/self/ns/net > /host\nRUN --network=none readlink /proc/self/ns/net > /none\nRUN readlink /proc/self/ns/net > /default\n", fx.busybox),
	})
	for _, tt := range []struct {
		network, file string
		shared        bool
	}{
		{"default", "/host", true}, {"default", "/none", false}, {"default", "/default", false},
		{"host", "/none", false}, {"host", "/default", true},
	} {
		tag := "bmount-net-" + tt.network
		st.i12bexecBuild(t, "--no-cache", "--network", tt.network, "-t", tag, dir)
		if got := st.i13bmountCat(t, tag, "cat "+tt.file); (got == host) != tt.shared {
			t.Errorf("build --network %s, %s: RUN saw %s, the host has %s (shared: want %v)", tt.network, tt.file, got, host, tt.shared)
		}
	}
}
