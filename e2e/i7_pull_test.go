package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/internal/testenv"
)

// i7pullLayered is a three-layer image under a repository name longer than
// an 80-column line, and the 12-hex ids its layers show in progress lines.
type i7pullLayered struct {
	ref string
	ids []string
}

var (
	i7pullLayeredOnce sync.Once
	i7pullLayeredImg  i7pullLayered
	i7pullLayeredErr  error
)

func i7pullLayeredImage(t *testing.T) i7pullLayered {
	t.Helper()
	requireEnv(t)
	i7pullLayeredOnce.Do(func() {
		bb, err := testenv.BusyboxImage()
		if err != nil {
			i7pullLayeredErr = err
			return
		}
		big, err := testenv.RandomLayer("data/blob", 3<<20, 11)
		if err != nil {
			i7pullLayeredErr = err
			return
		}
		small, err := testenv.LayerFromFiles([]testenv.File{testenv.Reg("etc/motd", "layered\n")})
		if err != nil {
			i7pullLayeredErr = err
			return
		}
		cf, _ := bb.ConfigFile()
		img, err := testenv.ImageFromLayers(bb, cf.Config, big, small)
		if err != nil {
			i7pullLayeredErr = err
			return
		}
		ref := reg.Addr + "/library/" + strings.Repeat("a-rather-long-repository-name-", 3) + "debian:layered"
		if _, err := testenv.Push(img, ref); err != nil {
			i7pullLayeredErr = err
			return
		}
		ls, _ := img.Layers()
		out := i7pullLayered{ref: ref}
		for _, l := range ls {
			d, _ := l.Digest()
			out.ids = append(out.ids, d.Hex[:12])
		}
		i7pullLayeredImg = out
	})
	if i7pullLayeredErr != nil {
		t.Fatalf("pushing the layered image: %v", i7pullLayeredErr)
	}
	return i7pullLayeredImg
}

// i7pullOnPty runs skiff with a terminal cols×rows as stdio (0×0: a size
// the terminal does not know), calls during (if any) once it started, and
// returns the raw bytes the terminal received and the exit status.
func i7pullOnPty(t *testing.T, s *store, cols, rows uint16, during func(master *os.File), args ...string) (string, int) {
	t.Helper()
	return runOnPtyWith(t, s, &unix.Winsize{Col: cols, Row: rows}, during, args...)
}

// i7pullScreen is as much of a terminal as pull's output needs: a screen
// cols×rows that scrolls, auto-wraps past the last column (xterm's deferred
// wrap), and moves the cursor up or clears a line on CSI A / B / K.
type i7pullScreen struct {
	cols, rows int
	lines      [][]rune // every row ever shown; the screen is the last rows
	row, col   int
	top        int      // first row on screen
	wrapped    []string // the rows that overflowed, as they were when they did
	unknown    []string // escape sequences it does not model
}

var i7pullCSI = regexp.MustCompile(`^\x1b\[([0-9;]*)([A-Za-z])`)

func i7pullEmulate(out string, cols, rows int) *i7pullScreen {
	sc := &i7pullScreen{cols: cols, rows: rows, lines: [][]rune{nil}}
	for i := 0; i < len(out); {
		if m := i7pullCSI.FindStringSubmatch(out[i:]); m != nil {
			sc.csi(m[1], m[2][0])
			i += len(m[0])
			continue
		}
		r := []rune(out[i:])[0]
		i += len(string(r))
		switch r {
		case '\r':
			sc.col = 0
		case '\n':
			sc.down(1)
		case '\x1b':
			sc.unknown = append(sc.unknown, strconv.Quote(out[i-1:min(i+8, len(out))]))
		default:
			sc.put(r)
		}
	}
	return sc
}

func (sc *i7pullScreen) csi(arg string, op byte) {
	n, err := strconv.Atoi(arg)
	if err != nil || n == 0 {
		n = 1
	}
	switch op {
	case 'A':
		sc.row = max(sc.row-n, sc.top)
		sc.col = min(sc.col, sc.cols-1)
	case 'B':
		sc.down(n)
	case 'K':
		if arg == "2" {
			sc.lines[sc.row] = nil
		} else if sc.col < len(sc.lines[sc.row]) {
			sc.lines[sc.row] = sc.lines[sc.row][:sc.col]
		}
	default:
		sc.unknown = append(sc.unknown, strconv.Quote("\x1b["+arg+string(op)))
	}
}

func (sc *i7pullScreen) down(n int) {
	for range n {
		sc.row++
		if sc.row == len(sc.lines) {
			sc.lines = append(sc.lines, nil)
		}
		if sc.row-sc.top >= sc.rows {
			sc.top++
		}
	}
}

func (sc *i7pullScreen) put(r rune) {
	if sc.col >= sc.cols {
		sc.wrapped = append(sc.wrapped, string(sc.lines[sc.row]))
		sc.col = 0
		sc.down(1)
	}
	l := sc.lines[sc.row]
	for len(l) <= sc.col {
		l = append(l, ' ')
	}
	l[sc.col] = r
	sc.lines[sc.row] = l
	sc.col++
}

// screen is what the terminal shows at the end, rows trimmed.
func (sc *i7pullScreen) screen() []string {
	var out []string
	for _, l := range sc.lines[sc.top:] {
		out = append(out, strings.TrimRight(string(l), " "))
	}
	return out
}

// TestI7PullProgressFitsTerminal: on terminals narrower than a progress
// line with its bar, each layer keeps one row: no line wraps, and the final
// screen shows each layer once, complete.
func TestI7PullProgressFitsTerminal(t *testing.T) {
	img := i7pullLayeredImage(t)
	for _, cols := range []int{80, 40} {
		t.Run(fmt.Sprintf("%dx24", cols), func(t *testing.T) {
			s := newStore(t)
			out, code := i7pullOnPty(t, s, uint16(cols), 24, nil, "pull", img.ref)
			if code != 0 {
				t.Fatalf("pull exit %d: %q", code, out)
			}
			sc := i7pullEmulate(out, cols, 24)
			if len(sc.unknown) > 0 {
				t.Errorf("escape sequences a terminal-agnostic pull should not send: %v", sc.unknown)
			}
			for _, w := range sc.wrapped {
				for _, id := range img.ids {
					if strings.HasPrefix(w, id+":") {
						t.Errorf("layer line wider than %d columns wrapped: %q", cols, w)
					}
				}
			}
			screen := sc.screen()
			for _, id := range img.ids {
				var rows []string
				for _, l := range screen {
					if strings.Contains(l, id) {
						rows = append(rows, l)
					}
				}
				if len(rows) != 1 || rows[0] != id+": Pull complete" {
					t.Errorf("layer %s on the final screen: %q, want once as %q", id, rows, id+": Pull complete")
				}
			}
			for _, l := range screen {
				if strings.Contains(l, "Downloading") || strings.Contains(l, "B/") {
					t.Errorf("a stale progress fragment stayed on screen: %q", l)
				}
			}
			if t.Failed() {
				t.Logf("final screen:\n%s", strings.Join(screen, "\n"))
			}
		})
	}
}

var i7pullCursorUp = regexp.MustCompile(`\x1b\[[0-9]*A`)

// TestI7PullProgressUnknownSize: a terminal that does not know its size gets
// plain lines, without cursor movement.
func TestI7PullProgressUnknownSize(t *testing.T) {
	img := i7pullLayeredImage(t)
	s := newStore(t)
	out, code := i7pullOnPty(t, s, 0, 0, nil, "pull", img.ref)
	if code != 0 {
		t.Fatalf("pull exit %d: %q", code, out)
	}
	if m := i7pullCursorUp.FindString(out); m != "" {
		t.Errorf("cursor moved up (%q) on a terminal of unknown size: %q", m, out)
	}
	for _, id := range img.ids {
		if !strings.Contains(out, id+": Pull complete\r\n") {
			t.Errorf("no plain %q line: %q", id+": Pull complete", out)
		}
	}
}

// TestI7PullProgressFollowsResize: a terminal narrowed during the download
// gets lines that fit its new width.
func TestI7PullProgressFollowsResize(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	p := startSlowProxy(t, 8<<20)
	const narrow = 40
	narrowed := func(master *os.File) {
		select {
		case <-p.blobGET:
		case <-time.After(30 * time.Second):
			t.Error("the pull never started downloading the big layer")
			return
		}
		time.Sleep(500 * time.Millisecond)
		if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: narrow, Row: 24}); err != nil {
			t.Error(err)
		}
	}
	out, code := i7pullOnPty(t, s, 160, 24, narrowed, "pull", p.addr+"/library/big:latest")
	if code != 0 {
		t.Fatalf("pull exit %d: %q", code, out)
	}
	var downloading []string
	for _, seg := range strings.FieldsFunc(i7pullStripANSI(out), func(r rune) bool { return r == '\r' || r == '\n' }) {
		if strings.Contains(seg, "Downloading") {
			downloading = append(downloading, seg)
		}
	}
	if len(downloading) < 2 {
		t.Fatalf("want several Downloading redraws, got %q", downloading)
	}
	if first := downloading[0]; !strings.Contains(first, "[") {
		t.Errorf("no bar at 160 columns: %q", first)
	}
	if last := downloading[len(downloading)-1]; len([]rune(last)) >= narrow {
		t.Errorf("after the resize to %d columns the line is %d wide: %q", narrow, len([]rune(last)), last)
	}
}

var i7pullANSI = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// i7pullStripANSI turns escape sequences into line breaks: each starts or
// moves to another line in pull's output.
func i7pullStripANSI(s string) string { return i7pullANSI.ReplaceAllString(s, "\n") }

// i7pullStartFault starts a proxy in front of the test registry that spoils the GET
// of one blob: mode "close" sends the true Content-Length but only the
// first n bytes, then closes; "reset" does the same and ends with a TCP RST;
// "corrupt" sends every byte, one of them changed.
func i7pullStartFault(t *testing.T, digest, mode string, n int) (addr string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: reg.Addr})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+digest) {
			rp.ServeHTTP(w, r)
			return
		}
		resp, err := http.Get("http://" + reg.Addr + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			http.Error(w, fmt.Sprintf("upstream %d %v", resp.StatusCode, err), http.StatusBadGateway)
			return
		}
		i7pullSpoil(w, body, mode, n)
	})
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

func i7pullSpoil(w http.ResponseWriter, body []byte, mode string, n int) {
	if mode == "corrupt" {
		body = bytes.Clone(body)
		body[n] ^= 0xff
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
		return
	}
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(body))
	buf.Write(body[:n])
	buf.Flush()
	if mode == "reset" {
		// Let the client take the headers and bytes in first: a RST
		// drops what it has not read yet.
		time.Sleep(300 * time.Millisecond)
		conn.(*net.TCPConn).SetLinger(0)
	}
}

// i7pullCutImage is a one-layer image of 1 MiB random data, pushed once.
var (
	i7pullCutOnce   sync.Once
	i7pullCutRef    string
	i7pullCutDigest string
	i7pullCutErr    error
)

func i7pullCutImage(t *testing.T) (repo, digest string) {
	t.Helper()
	requireEnv(t)
	i7pullCutOnce.Do(func() {
		l, err := testenv.RandomLayer("data", 1<<20, 21)
		if err != nil {
			i7pullCutErr = err
			return
		}
		img, err := testenv.ImageFromLayers(empty.Image, v1.Config{Cmd: []string{"sh"}}, l)
		if err != nil {
			i7pullCutErr = err
			return
		}
		i7pullCutRef = "/i7pull/cut:latest"
		if _, i7pullCutErr = testenv.Push(img, reg.Addr+i7pullCutRef); i7pullCutErr != nil {
			return
		}
		d, _ := l.Digest()
		i7pullCutDigest = d.String()
	})
	if i7pullCutErr != nil {
		t.Fatalf("pushing the image to cut: %v", i7pullCutErr)
	}
	return i7pullCutRef, i7pullCutDigest
}

// TestI7PullConnectionCut: a registry that ends the connection in the middle
// of a layer is named as the cause, apart from a blob that came whole but
// corrupt; nothing of the layer or the image is left.
func TestI7PullConnectionCut(t *testing.T) {
	repo, digest := i7pullCutImage(t)
	for _, c := range []struct {
		mode string
		n    int
		want *regexp.Regexp
	}{
		{"close", 100000, regexp.MustCompile(`^skiff: pull \S+: layer ` + digest + `: connection closed by the registry after 100kB of 1\.\d+MB: unexpected EOF$`)},
		{"reset", 100000, regexp.MustCompile(`^skiff: pull \S+: layer ` + digest + `: connection reset by the registry after \d[.\d]*[kM]?B of 1\.\d+MB: .*connection reset by peer$`)},
		{"corrupt", 500000, regexp.MustCompile(`^skiff: pull \S+: layer ` + digest + `: digest mismatch: the registry sent sha256:[0-9a-f]{64} \(corrupt or tampered blob\)$`)},
	} {
		t.Run(c.mode, func(t *testing.T) {
			addr := i7pullStartFault(t, digest, c.mode, c.n)
			s := newStore(t)
			r := s.skiff(nil, "pull", addr+repo)
			oneLineError(t, r, 1)
			if msg := strings.TrimSpace(r.stderr); !c.want.MatchString(msg) {
				t.Errorf("error %q\nwant it to match %s", msg, c.want)
			}
			assertNothingLeft(t, s)
		})
	}
}

// TestI7PullCorruptGzip: a blob that matches its digest but is no gzip is a
// broken image: said so, and not blamed on the connection or the tar.
func TestI7PullCorruptGzip(t *testing.T) {
	requireEnv(t)
	good, err := testenv.LayerFromFiles([]testenv.File{testenv.Reg("f", strings.Repeat("x", 4096))})
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := good.Compressed()
	raw, _ := io.ReadAll(rc)
	raw[10] = 0x07 // the first deflate block: final, of the reserved type 3
	bad := static.NewLayer(raw, types.DockerLayer)
	img, err := testenv.ImageFromLayers(empty.Image, v1.Config{Cmd: []string{"sh"}}, bad)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Addr + "/i7pull/corrupt-gzip:latest"
	if _, err := testenv.Push(img, ref); err != nil {
		t.Fatal(err)
	}
	d, _ := bad.Digest()
	s := newStore(t)
	r := s.skiff(nil, "pull", ref)
	oneLineError(t, r, 1)
	want := "skiff: pull " + ref + ": layer " + d.String() + ": decompressing gzip: flate: corrupt input"
	if msg := strings.TrimSpace(r.stderr); !strings.HasPrefix(msg, want) {
		t.Errorf("error %q, want %q...", msg, want)
	}
	assertNothingLeft(t, s)
}
