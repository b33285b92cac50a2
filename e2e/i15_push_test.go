package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/internal/testenv"
)

// i15pushUser and its password are the htpasswd registry's one account;
// i15pushHtpasswd is its bcrypt entry (cost 4: the registry checks it on
// every request).
const (
	i15pushUser     = "skiff"
	i15pushPassword = "i15-s3cret"
	i15pushHtpasswd = i15pushUser + ":$2b$04$mcOUCdwq7aHywNP75k/lJeq3dpOZVTGS8PS5OmSLBkLxNYFu7op9m\n"
)

// i15pushLast matches docker's last line of a push.
var i15pushLast = regexp.MustCompile(`(?m)^(\S+): digest: (sha256:[0-9a-f]{64}) size: (\d+)$`)

// i15pushClient is a store with its own docker config directory, so no
// test reads or writes the host's ~/.docker.
type i15pushClient struct {
	*store
	configDir string
	env       []string
}

func i15pushNewClient(t *testing.T) *i15pushClient {
	t.Helper()
	requireEnv(t)
	dir := t.TempDir()
	return &i15pushClient{store: newStore(t), configDir: dir, env: []string{"DOCKER_CONFIG=" + dir}}
}

func (c *i15pushClient) run(stdin string, args ...string) result {
	return c.skiffEnv(strings.NewReader(stdin), c.env, args...)
}

func (c *i15pushClient) mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := c.run("", args...)
	if r.code != 0 {
		t.Fatalf("skiff %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// i15pushDigest asserts a push succeeded and ended with docker's line for
// tag, and returns the manifest digest it printed.
func i15pushDigest(t *testing.T, r result, tag string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	m := i15pushLast.FindStringSubmatch(lines[len(lines)-1])
	if r.code != 0 || m == nil || m[1] != tag {
		t.Fatalf("push: want exit 0 and a last line %q; %v", tag+": digest: sha256:… size: N", r)
	}
	return m[2]
}

// i15pushStatus is the final status of each layer line in a plain push
// output ("abc: Pushed").
func i15pushStatus(out string) map[string]string {
	st := map[string]string{}
	re := regexp.MustCompile(`^([0-9a-f]{12}): (.+)$`)
	for _, l := range strings.Split(out, "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			st[m[1]] = m[2]
		}
	}
	return st
}

// i15pushInspect is what a round trip must keep.
type i15pushImage struct {
	ID          string
	RepoDigests []string
	RootFS      struct{ Layers []string }
}

func (c *i15pushClient) inspect(t *testing.T, ref string) i15pushImage {
	t.Helper()
	r := c.mustRun(t, "image", "inspect", ref)
	var out []i15pushImage
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
		t.Fatalf("image inspect %s: %v; %v", ref, err, r)
	}
	return out[0]
}

// i15pushCommitted makes an image here: busybox plus a file, committed.
func (c *i15pushClient) committed(t *testing.T, ref, content string) {
	t.Helper()
	name := uniqueName(t)
	c.mustRun(t, "pull", fx.busybox)
	c.mustRun(t, "run", "--name", name, fx.busybox, "sh", "-c", "echo "+content+" > /i15push")
	t.Cleanup(func() { c.run("", "rm", "-f", name) })
	c.mustRun(t, "commit", name, ref)
}

// TestI15PushCommitted: an image committed here is pushed, pushed again
// (every layer already there), pushed to a second repository of the same
// registry (mounted, not uploaded), and pulled by digest into a clean store:
// same id, same layers, same content when run.
func TestI15PushCommitted(t *testing.T) {
	c := i15pushNewClient(t)
	repo := reg.Addr + "/i15push/" + uniqueName(t)
	c.committed(t, repo+":v1", "pushed-content")
	local := c.inspect(t, repo+":v1")

	r := c.run("", "push", repo+":v1")
	digest := i15pushDigest(t, r, "v1")
	t.Logf("push:\n%s", r.stdout)
	if !strings.Contains(r.stdout, "The push refers to repository ["+repo+"]\n") {
		t.Errorf("push: want docker's first line naming %s; %v", repo, r)
	}
	st := i15pushStatus(r.stdout)
	if len(st) != len(local.RootFS.Layers) {
		t.Errorf("push: want one line per layer (%d), got %v", len(local.RootFS.Layers), st)
	}
	top := local.RootFS.Layers[len(local.RootFS.Layers)-1]
	if got := st[hexOf(top)[:12]]; got != "Pushed" {
		t.Errorf("push: the committed layer %s ends %q, want Pushed; %v", top, got, r)
	}

	t.Run("again", func(t *testing.T) {
		r := c.run("", "push", repo+":v1")
		if d := i15pushDigest(t, r, "v1"); d != digest {
			t.Errorf("second push: digest %s, first %s", d, digest)
		}
		for id, s := range i15pushStatus(r.stdout) {
			if s != "Layer already exists" {
				t.Errorf("second push: layer %s ends %q, want Layer already exists", id, s)
			}
		}
	})
	t.Run("mount", func(t *testing.T) {
		other := reg.Addr + "/i15push/" + uniqueName(t) + ":v2"
		c.mustRun(t, "tag", repo+":v1", other)
		r := c.run("", "push", other)
		t.Logf("push to another repository:\n%s", r.stdout)
		if d := i15pushDigest(t, r, "v2"); d != digest {
			t.Errorf("push to another repository: digest %s, want %s", d, digest)
		}
		want := "Mounted from i15push/" + strings.TrimPrefix(repo, reg.Addr+"/i15push/")
		if got := i15pushStatus(r.stdout)[hexOf(top)[:12]]; got != want {
			t.Errorf("push to another repository: layer %s ends %q, want %q; %v", top, got, want, r)
		}
	})
	t.Run("quiet", func(t *testing.T) {
		r := c.run("", "push", "-q", repo+":v1")
		if r.code != 0 || r.stdout != repo+":v1\n" {
			t.Errorf("push -q: want only the name; %v", r)
		}
	})
	t.Run("pull by digest", func(t *testing.T) {
		clean := i15pushNewClient(t)
		clean.mustRun(t, "pull", repo+"@"+digest)
		got := clean.inspect(t, repo+"@"+digest)
		if got.ID != local.ID || strings.Join(got.RootFS.Layers, ",") != strings.Join(local.RootFS.Layers, ",") {
			t.Errorf("pulled back: id %s layers %v, pushed id %s layers %v", got.ID, got.RootFS.Layers, local.ID, local.RootFS.Layers)
		}
		if out := clean.mustRun(t, "run", "--rm", repo+"@"+digest, "cat", "/i15push").stdout; out != "pushed-content\n" {
			t.Errorf("pulled back image: /i15push is %q", out)
		}
	})
}

// TestI15PushAllTags: -a pushes every local tag of the repository, each
// ending with its own digest line; a tag with -a is docker's refusal.
func TestI15PushAllTags(t *testing.T) {
	c := i15pushNewClient(t)
	repo := reg.Addr + "/i15push/" + uniqueName(t)
	c.committed(t, repo+":a", "a")
	c.mustRun(t, "tag", repo+":a", repo+":b")
	r := c.run("", "push", "--all-tags", repo)
	if r.code != 0 || len(i15pushLast.FindAllString(r.stdout, -1)) != 2 {
		t.Fatalf("push -a: want two digest lines (a, b); %v", r)
	}
	if r := c.run("", "push", "-a", repo+":a"); r.code != 1 || !strings.Contains(r.stderr, "tag can't be used with --all-tags/-a") {
		t.Errorf("push -a NAME:TAG: want docker's refusal; %v", r)
	}
	if r := c.run("", "push", repo+":nosuch"); r.code != 1 || !strings.Contains(r.stderr, "An image does not exist locally with the tag: "+repo) {
		t.Errorf("push of a missing tag: want docker's error; %v", r)
	}
}

// TestI15PushSecondRegistry: pull from one registry, push to another,
// pull from there into a clean store: the manifest, config and layer
// digests never change.
func TestI15PushSecondRegistry(t *testing.T) {
	c := i15pushNewClient(t)
	reg2, err := testenv.StartRegistry(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg2.Close() })
	c.mustRun(t, "pull", fx.busybox)
	orig := c.inspect(t, fx.busybox)
	dst := reg2.Addr + "/i15push/busybox:moved"
	c.mustRun(t, "tag", fx.busybox, dst)
	digest := i15pushDigest(t, c.run("", "push", dst), "moved")
	if digest != fx.busyboxDigest {
		t.Errorf("pushed manifest digest %s, pulled %s", digest, fx.busyboxDigest)
	}
	clean := i15pushNewClient(t)
	clean.mustRun(t, "pull", dst)
	got := clean.inspect(t, dst)
	if got.ID != orig.ID || strings.Join(got.RootFS.Layers, ",") != strings.Join(orig.RootFS.Layers, ",") {
		t.Errorf("after the move: id %s layers %v, before %s %v", got.ID, got.RootFS.Layers, orig.ID, orig.RootFS.Layers)
	}
	if len(got.RepoDigests) != 1 || !strings.HasSuffix(got.RepoDigests[0], "@"+fx.busyboxDigest) {
		t.Errorf("after the move: repo digests %v, want the original manifest %s", got.RepoDigests, fx.busyboxDigest)
	}
	// The registry holds the very blobs: the layer blob's digest is the one
	// the first registry served.
	for _, d := range []string{fx.busyboxDigest, orig.ID} {
		if _, err := os.Stat(reg2.BlobPath(d)); err != nil {
			t.Errorf("second registry lacks blob %s: %v", d, err)
		}
	}
}

// i15pushAuthRegistry is a registry that wants basic auth (htpasswd).
func i15pushAuthRegistry(t *testing.T) *testenv.Registry {
	t.Helper()
	dir := t.TempDir()
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(i15pushHtpasswd), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := testenv.StartRegistryWith(dir, "auth:\n  htpasswd:\n    realm: skiff-test\n    path: "+htpasswd+"\n")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestI15PushLogin: against a registry with htpasswd auth, push and pull
// are refused with docker's unauthorized line until login, a wrong
// password stores nothing, login --password-stdin writes docker's
// config.json (0600, auths{server:{auth}}) with the plain-text warning,
// and after logout pull is refused again.
func TestI15PushLogin(t *testing.T) {
	authReg := i15pushAuthRegistry(t)
	c := i15pushNewClient(t)
	c.mustRun(t, "pull", fx.busybox)
	ref := authReg.Addr + "/i15push/private:1"
	c.mustRun(t, "tag", fx.busybox, ref)
	cfgPath := filepath.Join(c.configDir, "config.json")

	if r := c.run("", "push", ref); r.code != 1 || !strings.Contains(r.stderr, "unauthorized: ") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("push before login: want one unauthorized line; %v", r)
	}
	r := c.run("wrong-password\n", "login", "-u", i15pushUser, "--password-stdin", authReg.Addr)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "skiff: unauthorized: ") {
		t.Errorf("login with a wrong password: want docker's unauthorized line; %v", r)
	}
	if _, err := os.Stat(cfgPath); err == nil {
		b, _ := os.ReadFile(cfgPath)
		if strings.Contains(string(b), authReg.Addr) {
			t.Errorf("a refused login stored credentials: %s", b)
		}
	}

	r = c.run(i15pushPassword+"\n", "login", "-u", i15pushUser, "--password-stdin", authReg.Addr)
	if r.code != 0 || r.stdout != "Login Succeeded\n" || !strings.Contains(r.stderr, "WARNING! Your credentials are stored unencrypted in '"+cfgPath+"'.") {
		t.Fatalf("login: want Login Succeeded and docker's warning; %v", r)
	}
	st, err := os.Stat(cfgPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("config.json: want mode 0600: %v %v", st.Mode(), err)
	}
	var cfg struct {
		Auths map[string]map[string]string `json:"auths"`
	}
	b, _ := os.ReadFile(cfgPath)
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("config.json: %v: %s", err, b)
	}
	want := base64.StdEncoding.EncodeToString([]byte(i15pushUser + ":" + i15pushPassword))
	if got := cfg.Auths[authReg.Addr]["auth"]; got != want {
		t.Errorf("config.json auths[%s].auth = %q, want %q (%s)", authReg.Addr, got, want, b)
	}

	digest := i15pushDigest(t, c.run("", "push", ref), "1")
	clean := &i15pushClient{store: newStore(t), configDir: c.configDir, env: c.env}
	clean.mustRun(t, "pull", ref)
	if got := clean.inspect(t, ref).RepoDigests; len(got) != 1 || !strings.HasSuffix(got[0], digest) {
		t.Errorf("pulled through auth: repo digests %v, pushed %s", got, digest)
	}

	if r := c.run("", "logout", authReg.Addr); r.code != 0 || r.stdout != "Removing login credentials for "+authReg.Addr+"\n" {
		t.Errorf("logout: %v", r)
	}
	b, _ = os.ReadFile(cfgPath)
	if strings.Contains(string(b), authReg.Addr) {
		t.Errorf("logout left the credentials: %s", b)
	}
	after := &i15pushClient{store: newStore(t), configDir: c.configDir, env: c.env}
	if r := after.run("", "pull", ref); r.code != 1 || !strings.Contains(r.stderr, "unauthorized: ") {
		t.Errorf("pull after logout: want unauthorized; %v", r)
	}

	// Wrong credentials in the file: push and pull get docker's line.
	wrong := base64.StdEncoding.EncodeToString([]byte(i15pushUser + ":not-the-password"))
	if err := os.WriteFile(cfgPath, []byte(`{"auths": {"`+authReg.Addr+`": {"auth": "`+wrong+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"push", ref}, {"pull", ref}} {
		if r := c.run("", args...); r.code != 1 || !strings.Contains(r.stderr, "unauthorized: ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s with a wrong password stored: want one unauthorized line; %v", args[0], r)
		}
	}
}

// TestI15PushLoginFlags: docker's checks of login's flags, before anything
// is asked of a registry.
func TestI15PushLoginFlags(t *testing.T) {
	c := i15pushNewClient(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"login", "--password-stdin", reg.Addr}, "the --password-stdin option requires --username to be set"},
		{[]string{"login", "-u", "x", "-p", "y", "--password-stdin", reg.Addr}, "conflicting options: cannot specify both --password and --password-stdin"},
		{[]string{"login", "-u", "x", reg.Addr}, "cannot perform an interactive login from a non-TTY device"},
		{[]string{"login", "-u", "x", "--password-stdin", reg.Addr}, "password is empty"},
	} {
		if r := c.run("", tc.args...); r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: want exit 1 and %q; %v", tc.args, tc.want, r)
		}
	}
}

// i15pushHelper is docker-credential-skifftest: a credential helper that
// keeps one login in files beside it and logs each call.
const i15pushHelper = `#!/bin/sh
d=$(dirname "$0")
echo "$1" >> "$d/calls"
case "$1" in
store) cat > "$d/creds"; sed 's/.*"ServerURL":"\([^"]*\)".*/\1/' "$d/creds" > "$d/url" ;;
get) read url; if [ -f "$d/url" ] && [ "$url" = "$(cat "$d/url")" ]; then cat "$d/creds"; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) read url; if [ -f "$d/url" ] && [ "$url" = "$(cat "$d/url")" ]; then rm -f "$d/creds" "$d/url"; fi ;;
list) echo "{}" ;;
esac
`

// TestI15PushCredHelper: with credsStore, or credHelpers naming the
// registry, login hands the credentials to docker-credential-skifftest
// (nothing in config.json), push gets them from it, and logout erases them
// there.
func TestI15PushCredHelper(t *testing.T) {
	authReg := i15pushAuthRegistry(t)
	for name, cfg := range map[string]string{
		"credsStore":  `{"credsStore": "skifftest"}`,
		"credHelpers": `{"credHelpers": {"` + authReg.Addr + `": "skifftest"}}`,
	} {
		t.Run(name, func(t *testing.T) { i15pushCredHelper(t, authReg, cfg) })
	}
}

func i15pushCredHelper(t *testing.T, authReg *testenv.Registry, config string) {
	c := i15pushNewClient(t)
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-skifftest"), []byte(i15pushHelper), 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(c.configDir, "config.json")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	c.env = append(c.env, "PATH="+bin+":"+os.Getenv("PATH"))

	r := c.run(i15pushPassword, "login", "-u", i15pushUser, "--password-stdin", authReg.Addr)
	if r.code != 0 || r.stdout != "Login Succeeded\n" || strings.Contains(r.stderr, "unencrypted") {
		t.Fatalf("login through a helper: want Login Succeeded and no plain-text warning; %v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(bin, "creds")); !strings.Contains(string(b), `"Secret":"`+i15pushPassword+`"`) {
		t.Errorf("the helper was not given the login: %q", b)
	}
	if b, _ := os.ReadFile(cfgPath); strings.Contains(string(b), "auth\"") && strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte(i15pushUser))[:4]) {
		t.Errorf("config.json holds the secret despite the helper: %s", b)
	}
	c.mustRun(t, "pull", fx.busybox)
	ref := authReg.Addr + "/i15push/helper:1"
	c.mustRun(t, "tag", fx.busybox, ref)
	i15pushDigest(t, c.run("", "push", ref), "1")

	if r := c.run("", "logout", authReg.Addr); r.code != 0 {
		t.Errorf("logout: %v", r)
	}
	if _, err := os.Stat(filepath.Join(bin, "creds")); err == nil {
		t.Errorf("logout did not erase the helper's credentials")
	}
	calls, _ := os.ReadFile(filepath.Join(bin, "calls"))
	for _, want := range []string{"store", "get", "erase"} {
		if !strings.Contains(string(calls), want+"\n") {
			t.Errorf("the helper was never asked to %s: %q", want, calls)
		}
	}
	if r := c.run("", "push", ref); r.code != 1 || !strings.Contains(r.stderr, "unauthorized: ") {
		t.Errorf("push after logout: want unauthorized; %v", r)
	}
}

// i15pushTree is a digest of every file under the store's root but the
// lock and temp files: what must not change while pushing.
func i15pushTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".lock") {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			out[p] = "-> " + l
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[p] = fmt.Sprintf("%x", sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func i15pushSameTree(t *testing.T, before, after map[string]string) {
	t.Helper()
	var diff []string
	for p, h := range before {
		if after[p] != h {
			diff = append(diff, "changed or gone: "+p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			diff = append(diff, "new: "+p)
		}
	}
	sort.Strings(diff)
	if len(diff) > 0 {
		t.Errorf("the push changed the store:\n%s", strings.Join(diff, "\n"))
	}
}

// i15pushStartPaused starts a push that stops inside its first layer
// upload and returns once it says so.
func (c *i15pushClient) startPaused(t *testing.T, ref string) (*exec.Cmd, func() result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := c.cmd(ctx, "push", ref)
	cmd.Env = append(cmd.Env, c.env...)
	cmd.Env = append(cmd.Env, "SKIFF_TEST_PAUSE=push-mid-blob")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var rest strings.Builder
	paused := false
	for sc.Scan() {
		if sc.Text() == "skiff-test-pause: push-mid-blob" {
			paused = true
			break
		}
		rest.WriteString(sc.Text() + "\n")
	}
	if !paused {
		cmd.Wait()
		cancel()
		t.Fatalf("push never reached its pause point; stdout %q stderr %q", stdout.String(), rest.String())
	}
	return cmd, func() result {
		for sc.Scan() {
			rest.WriteString(sc.Text() + "\n")
		}
		err := cmd.Wait()
		cancel()
		r := result{stdout: stdout.String(), stderr: rest.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		}
		return r
	}
}

// TestI15PushInterrupted: a push cut off mid-layer, by the registry dying
// or by kill -9 of skiff, leaves the store as it was, and a second push
// completes with the same digest a pull then finds.
func TestI15PushInterrupted(t *testing.T) {
	for _, tc := range []string{"registry killed", "skiff killed"} {
		t.Run(tc, func(t *testing.T) {
			c := i15pushNewClient(t)
			reg2, err := testenv.StartRegistry(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { reg2.Close() })
			c.mustRun(t, "pull", fx.big)
			ref := reg2.Addr + "/i15push/big:1"
			c.mustRun(t, "tag", fx.big, ref)
			before := i15pushTree(t, c.root)

			cmd, wait := c.startPaused(t, ref)
			if tc == "registry killed" {
				reg2.Close()
				r := wait()
				if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "skiff: push "+ref) {
					t.Errorf("push with the registry gone: want exit 1 and one error line; %v", r)
				}
				if err := reg2.Restart(); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				wait()
			}
			i15pushSameTree(t, before, i15pushTree(t, c.root))

			digest := i15pushDigest(t, c.run("", "push", ref), "1")
			i15pushSameTree(t, before, i15pushTree(t, c.root))
			clean := i15pushNewClient(t)
			byDigest := strings.TrimSuffix(ref, ":1") + "@" + digest
			clean.mustRun(t, "pull", byDigest)
			if got := clean.inspect(t, byDigest).RootFS.Layers; len(got) != 1 || got[0] != fx.bigDiffID {
				t.Errorf("pulled after the interrupted push: layers %v, want [%s]", got, fx.bigDiffID)
			}
		})
	}
}

// TestI15PushTerminal: on a terminal, push redraws one line per layer
// (the final screen shows each once, with its outcome), and an interactive
// login prompts for the username and, without echo, the password.
func TestI15PushTerminal(t *testing.T) {
	requireEnv(t)
	authReg := i15pushAuthRegistry(t)
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir) // the ptys' commands take the test's environment
	s := newStore(t)
	s.must(t, "pull", fx.big)
	ref := authReg.Addr + "/i15push/term:1"
	s.must(t, "tag", fx.big, ref)

	out, code := runOnPtyWith(t, s, nil, func(master *os.File) {
		time.Sleep(500 * time.Millisecond)
		master.WriteString(i15pushUser + "\n")
		time.Sleep(500 * time.Millisecond)
		master.WriteString(i15pushPassword + "\n")
	}, "login", authReg.Addr)
	if code != 0 || !strings.Contains(out, "Username: ") || !strings.Contains(out, "Password: ") || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("interactive login: exit %d, terminal %q", code, out)
	}
	if strings.Contains(out, i15pushPassword) {
		t.Errorf("interactive login echoed the password: %q", out)
	}

	out, code = i7pullOnPty(t, s, 100, 24, nil, "push", ref)
	if code != 0 {
		t.Fatalf("push on a terminal: exit %d: %q", code, out)
	}
	screen := i7pullEmulate(out, 100, 24).screen()
	id := hexOf(fx.bigDiffID)[:12]
	var rows []string
	for _, l := range screen {
		if strings.HasPrefix(l, id+":") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 1 || rows[0] != id+": Pushed" {
		t.Errorf("layer %s on the final screen: %q, want once as Pushed; screen:\n%s", id, rows, strings.Join(screen, "\n"))
	}
	if !strings.Contains(out, "Pushing  [") {
		t.Errorf("push on a terminal drew no progress bar: %q", out)
	}
}
