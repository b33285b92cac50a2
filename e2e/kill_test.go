package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowProxy fronts the registry on another loopback port and serves blob
// bodies at rate bytes/s, so a pull can be killed mid-download.
type slowProxy struct {
	addr    string
	srv     *http.Server
	blobGET chan struct{} // closed when the first blob body starts flowing
	once    sync.Once
}

func startSlowProxy(t *testing.T, rate int) *slowProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowProxy{addr: l.Addr().String(), blobGET: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: reg.Addr})
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodGet && strings.Contains(resp.Request.URL.Path, "/blobs/") && resp.ContentLength > 1<<20 {
			p.once.Do(func() { close(p.blobGET) })
			resp.Body = &slowBody{r: resp.Body, rate: rate}
		}
		return nil
	}
	p.srv = &http.Server{Handler: rp}
	go p.srv.Serve(l)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

type slowBody struct {
	r    io.ReadCloser
	rate int
}

func (b *slowBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	time.Sleep(time.Duration(n) * time.Second / time.Duration(b.rate))
	return n, err
}
func (b *slowBody) Close() error { return b.r.Close() }

// TestKillDuringPull: kill -9 of `skiff pull` at each stage leaves no
// half-made layer or image visible, and the next pull succeeds.
func TestKillDuringPull(t *testing.T) {
	requireEnv(t)
	bigRepo := "/library/big:latest"
	for _, c := range []struct {
		name string
		// wait returns once the pull has reached the stage to kill it in, or
		// a reason to skip.
		wait func(t *testing.T, s *store, p *slowProxy, stderr *lineWatch) string
		env  []string
	}{
		{"during download", func(t *testing.T, s *store, p *slowProxy, _ *lineWatch) string {
			select {
			case <-p.blobGET:
				time.Sleep(300 * time.Millisecond)
				return ""
			case <-time.After(30 * time.Second):
				t.Fatal("the pull never started downloading the big layer")
			}
			return ""
		}, nil},
		{"during extraction", func(t *testing.T, s *store, p *slowProxy, _ *lineWatch) string {
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				for _, d := range s.tmpDirs(t) {
					if hasFiles(filepath.Join(s.root, "layers", ".tmp", d)) {
						time.Sleep(200 * time.Millisecond)
						return ""
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Fatal("no extraction under layers/.tmp seen within 30 s")
			return ""
		}, nil},
		{"between extraction and publishing", func(t *testing.T, s *store, p *slowProxy, w *lineWatch) string {
			if !w.wait("skiff-test-pause: before-publish", 60*time.Second) {
				return "pull does not honour SKIFF_TEST_PAUSE=before-publish yet (it should print \"skiff-test-pause: before-publish\" to stderr and sleep before the layer rename)"
			}
			return ""
		}, []string{"SKIFF_TEST_PAUSE=before-publish"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			p := startSlowProxy(t, 4<<20)
			ref := p.addr + bigRepo
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := s.cmd(ctx, "--insecure-registry", p.addr, "pull", ref)
			cmd.Env = append(cmd.Env, c.env...)
			errPipe, _ := cmd.StderrPipe()
			w := watchLines(errPipe)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			skip := c.wait(t, s, p, w)
			if skip != "" {
				cmd.Process.Kill()
				<-done
				t.Skip(skip)
			}
			select {
			case err := <-done:
				t.Fatalf("pull ended before it could be killed: %v; stderr %s", err, w.text())
			default:
			}
			cmd.Process.Kill() // SIGKILL, by pid
			<-done

			if got := s.layerDirs(t); contains(got, hexOf(fx.bigDiffID)) {
				t.Errorf("a half-made layer %s is visible after kill -9", fx.bigDiffID)
			}
			for _, row := range s.imageRows(t) {
				t.Errorf("an image is visible after kill -9: %q", row)
			}
			s.must(t, "pull", fx.big)
			if got := s.tmpDirs(t); len(got) != 0 {
				t.Errorf("the next pull left the dead writer's layers/.tmp dirs: %v", got)
			}
			st, err := os.Stat(filepath.Join(s.root, "layers", hexOf(fx.bigDiffID), "diff", "big"))
			if err != nil || st.Size() != int64(fx.bigSize) {
				t.Errorf("after the re-pull, the layer's file: %v (size want %d)", err, fx.bigSize)
			}
		})
	}
}

func hasFiles(dir string) bool {
	found := false
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// lineWatch collects a stream's lines and lets a test wait for one.
type lineWatch struct {
	mu    sync.Mutex
	lines []string
	more  chan struct{}
}

func watchLines(r io.Reader) *lineWatch {
	w := &lineWatch{more: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, sc.Text())
			w.mu.Unlock()
			select {
			case w.more <- struct{}{}:
			default:
			}
		}
		close(w.more)
	}()
	return w
}

func (w *lineWatch) wait(want string, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		if strings.Contains(w.text(), want) {
			return true
		}
		select {
		case _, ok := <-w.more:
			if !ok {
				return strings.Contains(w.text(), want)
			}
		case <-deadline:
			return false
		}
	}
}

func (w *lineWatch) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}
