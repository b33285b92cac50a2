package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestStdio(t *testing.T) {
	s := shared(t)
	t.Run("stdout and stderr stay apart", func(t *testing.T) {
		r := s.skiff(nil, "run", "--rm", fx.busybox, "sh", "-c", "echo out; echo err >&2")
		if r.code != 0 || r.stdout != "out\n" || r.stderr != "err\n" {
			t.Errorf("want stdout \"out\\n\" and stderr \"err\\n\"; %v", r)
		}
	})
	t.Run("no output lost at exit", func(t *testing.T) {
		const n = 8 << 20
		r := s.skiff(nil, "run", "--rm", fx.busybox, "head", "-c", fmt.Sprint(n), "/dev/zero")
		if r.code != 0 || len(r.stdout) != n {
			t.Errorf("got %d bytes, want %d; exit %d stderr %q", len(r.stdout), n, r.code, r.stderr)
		}
	})
	t.Run("-i: large stdin round trip", func(t *testing.T) {
		in := strings.Repeat("0123456789abcdef\n", 1<<16)
		r := s.skiff(strings.NewReader(in), "run", "--rm", "-i", fx.busybox, "cat")
		if r.code != 0 || r.stdout != in {
			t.Errorf("cat returned %d bytes of %d; exit %d stderr %q", len(r.stdout), len(in), r.code, r.stderr)
		}
	})
}

func TestConcurrentContainers(t *testing.T) {
	s := shared(t)
	const n = 4
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.skiff(nil, "run", "--rm", fx.busybox, "sh", "-c", "sleep 0.3; hostname; echo $$")
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, r := range results {
		f := strings.Fields(r.stdout)
		if r.code != 0 || len(f) != 2 || f[1] != "1" {
			t.Errorf("container %d: want its hostname and pid 1; %v", i, r)
			continue
		}
		if seen[f[0]] {
			t.Errorf("two containers share hostname %s", f[0])
		}
		seen[f[0]] = true
	}
}

// TestConcurrentPulls: two pulls of one image at once both succeed and
// extract its layer once.
func TestConcurrentPulls(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	var wg sync.WaitGroup
	results := make([]result, 3)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.skiff(nil, "pull", fx.multi)
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("pull %d: %v", i, r)
		}
	}
	if got := s.layerDirs(t); len(got) != 3 {
		t.Errorf("layers/ = %v, want the 3 layers of multi once each", got)
	}
	if got := s.tmpDirs(t); len(got) != 0 {
		t.Errorf("layers/.tmp left behind: %v", got)
	}
	if rows := s.imageRows(t); len(rows) != 1 {
		t.Errorf("images: %q, want one row", rows)
	}
}

func TestImagesShowsDigestOnlyPulls(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	repo := strings.TrimSuffix(fx.busybox, ":latest")
	s.must(t, "pull", repo+"@"+fx.busyboxDigest)
	rows := s.imageRows(t)
	if len(rows) != 1 || rows[0][0] != repo || rows[0][1] != "<none>" {
		t.Errorf("images after a pull by digest: %q, want [%s <none> ...] as docker", rows, repo)
	}
	r := s.must(t, "images", "--digests")
	if !strings.Contains(r.stdout, fx.busyboxDigest) {
		t.Errorf("images --digests lacks %s:\n%s", fx.busyboxDigest, r.stdout)
	}
	r = s.must(t, "images", "-q")
	if !regexp.MustCompile(`^[0-9a-f]{12}\n$`).MatchString(r.stdout) {
		t.Errorf("images -q = %q, want one short id", r.stdout)
	}
}

func TestBadConfigFile(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	if err := os.MkdirAll(filepath.Dir(s.config), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.config, []byte(`{"insecure-registries": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := s.skiff(nil, "images")
	oneLineError(t, r, 1)
	if !strings.Contains(r.stderr, s.config) {
		t.Errorf("the error does not name the config file %s: %q", s.config, r.stderr)
	}
	if err := os.WriteFile(s.config, []byte(`{"insecure-registries": ["`+reg.Addr+`"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s.noInsecureFlag = true
	s.must(t, "pull", fx.busybox)
}

func TestUnsupportedRunFlags(t *testing.T) {
	s := shared(t)
	for _, args := range [][]string{
		// -c and -m became real in issue 16, the privilege and namespace
		// flags in issue 18, --link in issue 19: flags still to come stand in.
		{"--link-local-ip", "169.254.0.9"}, {"--cpu-count", "2"}, {"--gpus", "all"},
		{"-a", "stdout"}, {"--no-healthcheck"}, {"--runtime", "crun"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := s.skiff(nil, append(append([]string{"run", "--rm"}, args...), fx.busybox, "true")...)
			runError(t, r, 125)
			if !strings.Contains(r.stderr, "not supported") {
				t.Errorf("want a \"not supported yet\" message: %q", r.stderr)
			}
		})
	}
}
