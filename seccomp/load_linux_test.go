package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// childEnv marks the re-executed test binary that loads the filter: a
// filter cannot be removed, so it goes on a child, not on the test process.
const childEnv = "SKIFF_SECCOMP_TEST_CHILD"

// TestLoadDockerProfile loads docker's default filter in a child process
// and checks the kernel's answers: EPERM for keyctl and unshare of a user
// namespace, ENOSYS for clone3 and for a number above the profile's
// highest, getpid still working.
func TestLoadDockerProfile(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		loadAndProbe(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadDockerProfile$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("filter loaded")) {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

func loadAndProbe(t *testing.T) {
	s := dockerProfile(t, dockerCaps...)
	p, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	// Above the highest syscall the profile names on x86_64.
	var above uintptr
	for _, sc := range s.Syscalls {
		for _, n := range sc.Names {
			if nr, ok := nativeABI().lookup(n); ok && uintptr(nr) >= above {
				above = uintptr(nr) + 1
			}
		}
	}
	if os.Geteuid() != 0 {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := Load(p); err != nil {
		t.Fatal(err)
	}
	t.Logf("filter loaded: %d instructions, probing up to nr %d", p.Len(), above)
	for _, tc := range []struct {
		name string
		call func() error
		want error
	}{
		{"keyctl", func() error { return errnoOf(unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, 0, 0)) }, unix.EPERM},
		{"unshare(CLONE_NEWUSER)", func() error { return unix.Unshare(unix.CLONE_NEWUSER) }, unix.EPERM},
		{"clone3", func() error { return errnoOf(unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)) }, unix.ENOSYS},
		{"above the highest", func() error { return errnoOf(unix.Syscall(above, 0, 0, 0)) }, unix.ENOSYS},
		{"getpid", func() error { return errnoOf(unix.Syscall(unix.SYS_GETPID, 0, 0, 0)) }, nil},
	} {
		if err := tc.call(); !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if unix.Getpid() != os.Getpid() || unix.Getpid() <= 0 {
		t.Error("getpid does not work")
	}
}

func errnoOf(_, _ uintptr, e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func TestLoadNil(t *testing.T) {
	if err := Load(nil); err != nil {
		t.Fatal(err)
	}
	if err := Load(&Program{Insns: []byte{1, 2, 3}}); err == nil {
		t.Fatal("a 3-byte program loaded")
	}
}

// dockerJSON is docker's default profile as config.json holds it.
func dockerJSON(t testing.TB) []byte {
	raw, err := json.Marshal(dockerProfile(t, dockerCaps...))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestCached(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "seccomp")
	raw := dockerJSON(t)
	first, err := Cached(dir, raw)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir: %v %v", fi, err)
	}
	path := filepath.Join(dir, cacheKey(raw))
	stored, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no cache file: %v", err)
	}

	// A hit is read from the file: a valid file with other content is
	// what comes back.
	other := &Program{Insns: first.Insns[:8*3], Flags: 4}
	if err := os.WriteFile(path, encodeCached(other), 0o600); err != nil {
		t.Fatal(err)
	}
	hit, err := Cached(dir, raw)
	if err != nil || !bytes.Equal(hit.Insns, other.Insns) || hit.Flags != 4 {
		t.Fatalf("hit: %v %v", hit, err)
	}

	// A corrupt or truncated file is recompiled and replaced.
	for name, bad := range map[string][]byte{
		"truncated": stored[:len(stored)/2],
		"bit flip":  append(append([]byte{}, stored[:100]...), append([]byte{stored[100] ^ 1}, stored[101:]...)...),
		"empty":     {},
		"garbage":   []byte("not a filter at all, but long enough to have a header and a checksum!"),
	} {
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := Cached(dir, raw)
		if err != nil || !bytes.Equal(p.Insns, first.Insns) {
			t.Errorf("%s: got %v %v, want the compiled program", name, p, err)
		}
		if now, _ := os.ReadFile(path); !bytes.Equal(now, stored) {
			t.Errorf("%s: the cache file was not replaced", name)
		}
	}

	// No cache directory, no filter, a bad profile.
	if p, err := Cached("", raw); err != nil || !bytes.Equal(p.Insns, first.Insns) {
		t.Errorf("no cache: %v %v", p, err)
	}
	for _, none := range []string{"", "null", " null\n"} {
		if p, err := Cached(dir, []byte(none)); p != nil || err != nil {
			t.Errorf("%q: %v %v", none, p, err)
		}
	}
	if _, err := Cached(dir, []byte(`{"defaultAction":"SCMP_ACT_NOPE"}`)); err == nil {
		t.Error("a bad profile compiled")
	}
	if _, err := Cached(dir, []byte(`{`)); err == nil {
		t.Error("bad JSON compiled")
	}
}

// TestCachedConcurrent has callers race on an empty cache: each gets the
// program and no partial or temporary file is left.
func TestCachedConcurrent(t *testing.T) {
	dir := t.TempDir()
	raw := dockerJSON(t)
	want, err := Compile(dockerProfile(t, dockerCaps...))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			p, err := Cached(dir, raw)
			if err != nil || !bytes.Equal(p.Insns, want.Insns) {
				t.Errorf("got %v %v", p, err)
			}
		})
	}
	wg.Wait()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != cacheKey(raw) {
		t.Errorf("cache holds %v", entries)
	}
}

func BenchmarkCompileDefault(b *testing.B) {
	s := dockerProfile(b, dockerCaps...)
	for b.Loop() {
		if _, err := Compile(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCachedHit(b *testing.B) {
	dir := b.TempDir()
	raw := dockerJSON(b)
	if _, err := Cached(dir, raw); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Cached(dir, raw); err != nil {
			b.Fatal(err)
		}
	}
}
