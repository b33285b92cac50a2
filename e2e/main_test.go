package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/internal/testenv"
)

// env is what TestMain set up; skipReason is why tests needing it skip.
var (
	skiffBin   string
	reg        *testenv.Registry
	fx         *fixtures
	skipReason string
	workDir    string // removed after all tests
)

func TestMain(m *testing.M) {
	if code, done := i14e2eEnterNetns(); done {
		os.Exit(code)
	}
	code := func() int {
		var err error
		if workDir, err = os.MkdirTemp("", "skiff-e2e-"); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer os.RemoveAll(workDir)
		skipReason = setup()
		if skipReason != "" {
			fmt.Fprintln(os.Stderr, "e2e: skipping tests that need the environment:", skipReason)
		}
		if i14e2eNoNetns != "" {
			fmt.Fprintln(os.Stderr, "e2e: tests of skiff's bridge skip:", i14e2eNoNetns)
		}
		defer reg.Close()
		return m.Run()
	}()
	os.Exit(code)
}

// setup returns why the environment cannot be made, or "".
func setup() string {
	if os.Geteuid() != 0 {
		return "not root (run `sudo make e2e`)"
	}
	if _, err := os.Stat(testenv.RegistryBinary); err != nil {
		return "docker-registry missing (apt-get install docker-registry, or `make deps`)"
	}
	if _, err := os.Stat(testenv.BusyboxPath); err != nil {
		return "busybox-static missing (apt-get install busybox-static, or `make deps`)"
	}
	if err := buildSkiff(); err != nil {
		return err.Error()
	}
	var err error
	if reg, err = testenv.StartRegistry(filepath.Join(workDir, "registry")); err != nil {
		return err.Error()
	}
	if fx, err = pushFixtures(reg); err != nil {
		return "fixtures: " + err.Error()
	}
	return ""
}

func buildSkiff() error {
	if skiffBin = os.Getenv("SKIFF_BIN"); skiffBin != "" {
		return nil
	}
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(file))
	skiffBin = filepath.Join(workDir, "skiff")
	cmd := exec.Command("go", "build", "-trimpath", "-o", skiffBin, ".")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build skiff: %v\n%s", err, out)
	}
	return nil
}

func requireEnv(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// store is one --root/--runroot pair; tests that do not care share one.
type store struct {
	root, runroot, config string
	noInsecureFlag        bool // leave out --insecure-registry for the test registry
	// user, when set, runs skiff as that user (rootless) on its default
	// paths: root and runroot then only say where those are, for checks.
	user *i20e2eUser
}

func newStore(t *testing.T) *store {
	t.Helper()
	d := t.TempDir()
	s := &store{root: filepath.Join(d, "root"), runroot: filepath.Join(d, "run"), config: filepath.Join(d, "config.json")}
	if err := writeTestConfig(s.config); err != nil {
		t.Fatal(err)
	}
	return s
}

// writeTestConfig gives a store the config every test starts from: its
// containers' name server is the fake upstream's address, in the suite's
// own namespaces, never one of the host's resolvers. A test that writes
// its own config file says the same or passes --dns.
func writeTestConfig(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(`{"dns": ["`+i14e2eUpstreamDNS+`"]}`), 0o644)
}

var (
	sharedOnce  sync.Once
	sharedStore *store
	sharedErr   error
)

// shared returns the store every run test uses, with busybox pulled once.
func shared(t *testing.T) *store {
	t.Helper()
	requireEnv(t)
	sharedOnce.Do(func() {
		d := filepath.Join(workDir, "shared")
		sharedStore = &store{root: filepath.Join(d, "root"), runroot: filepath.Join(d, "run"), config: filepath.Join(d, "config.json")}
		if sharedErr = writeTestConfig(sharedStore.config); sharedErr != nil {
			return
		}
		r := sharedStore.skiff(nil, "pull", fx.busybox)
		if r.code != 0 {
			sharedErr = fmt.Errorf("pull %s: exit %d: %s", fx.busybox, r.code, r.stderr)
		}
	})
	if sharedErr != nil {
		t.Fatalf("setting up the shared store: %v", sharedErr)
	}
	return sharedStore
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr)
}

// cmd is skiff with this store's global flags; the registry is insecure
// explicitly, so these tests do not depend on loopback defaults.
func (s *store) cmd(ctx context.Context, args ...string) *exec.Cmd {
	var global []string
	if reg != nil && !s.noInsecureFlag {
		global = append(global, "--insecure-registry", reg.Addr)
	}
	if s.user != nil {
		return s.user.cmd(ctx, append(global, args...)...)
	}
	global = append([]string{"--root", s.root, "--runroot", s.runroot, "--config", s.config}, global...)
	c := exec.CommandContext(ctx, skiffBin, append(global, args...)...)
	c.Env = append(os.Environ(), "LC_ALL=C")
	c.WaitDelay = 5 * time.Second
	return c
}

// skiff runs a command to completion (60 s at most) with stdin as given.
func (s *store) skiff(stdin io.Reader, args ...string) result {
	return s.skiffEnv(stdin, nil, args...)
}

func (s *store) skiffEnv(stdin io.Reader, env []string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := s.cmd(ctx, args...)
	c.Env = append(c.Env, env...)
	var out, errb bytes.Buffer
	c.Stdin, c.Stdout, c.Stderr = stdin, &out, &errb
	err := c.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ctx.Err() != nil {
			r.stderr += "\n(e2e: killed after 60 s)"
		}
	default:
		r.code = -1
		r.stderr += "\n(e2e: " + err.Error() + ")"
	}
	return r
}

// must runs skiff and fails the test unless it exits 0.
func (s *store) must(t *testing.T, args ...string) result {
	t.Helper()
	r := s.skiff(nil, args...)
	if r.code != 0 {
		t.Fatalf("skiff %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// oneLineError asserts a failure was reported as one clear line on stderr.
func oneLineError(t *testing.T, r result, wantCode int) {
	t.Helper()
	if r.code != wantCode {
		t.Errorf("exit %d, want %d; %v", r.code, wantCode, r)
	}
	msg := strings.TrimSpace(r.stderr)
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("want exactly one line on stderr, got %q", r.stderr)
	}
	if strings.Contains(msg, "goroutine ") || strings.Contains(msg, "panic:") {
		t.Errorf("stderr shows a panic: %s", msg)
	}
}

// runError asserts `run` failed with code and one `skiff:` error line, the
// last on stderr; pull progress may come before it, as docker's "Unable to
// find image ... locally" does.
func runError(t *testing.T, r result, wantCode int) {
	t.Helper()
	if r.code != wantCode {
		t.Errorf("exit %d, want %d; %v", r.code, wantCode, r)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if last := lines[len(lines)-1]; len(lines) > 1 && strings.HasPrefix(last, "See 'skiff ") {
		lines = lines[:len(lines)-1] // a flag error's pointer to the help, as docker's
	}
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "skiff:") {
			n++
		}
	}
	if n != 1 || !strings.HasPrefix(lines[len(lines)-1], "skiff:") {
		t.Errorf("want one \"skiff: ...\" error line, last on stderr; got %q", r.stderr)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		t.Errorf("stderr shows a panic: %s", r.stderr)
	}
}

// layerDirs lists the published layer dirs of a store (not .tmp).
func (s *store) layerDirs(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.root, "layers"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// tmpDirs lists what extraction left under layers/.tmp (dirs only: free
// lock files may remain by design).
func (s *store) tmpDirs(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.root, "layers", ".tmp"))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// imageRows returns the `images` rows (without header) as fields.
func (s *store) imageRows(t *testing.T) [][]string {
	t.Helper()
	r := s.must(t, "images")
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	var rows [][]string
	for _, l := range lines[1:] {
		if strings.TrimSpace(l) != "" {
			rows = append(rows, strings.Fields(l))
		}
	}
	return rows
}

func hexOf(digest string) string { return strings.TrimPrefix(digest, "sha256:") }

func freePort() (int, error) { return testenv.FreePort() }
