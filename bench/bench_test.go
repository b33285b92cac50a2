package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"one", []time.Duration{5}, 5},
		{"odd unsorted", []time.Duration{9, 1, 5}, 5},
		{"even is mean of middle two", []time.Duration{4, 1, 10, 2}, 3},
		{"outlier ignored", []time.Duration{10, 11, 12, 1000, 13}, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			if got := median(in); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
			}
			if !slices.Equal(in, tc.in) {
				t.Errorf("median reordered its input: %v", in)
			}
		})
	}
}

func TestRatioTarget(t *testing.T) {
	c := func(err error, ds ...time.Duration) *bcase { return &bcase{durs: ds, err: err} }
	for _, tc := range []struct {
		name        string
		skiff, peer *bcase
		target      float64
		ratio       float64
		ok, pass    bool
	}{
		{"within target", c(nil, 15), c(nil, 12), 1.5, 1.25, true, true},
		{"exactly target", c(nil, 18), c(nil, 12), 1.5, 1.5, true, true},
		{"over target", c(nil, 19), c(nil, 12), 1.5, 19.0 / 12, true, false},
		{"no target passes", c(nil, 100), c(nil, 10), 0, 10, true, true},
		{"skiff failed", c(errors.New("boom")), c(nil, 12), 1.5, 0, false, false},
		{"peer failed", c(nil, 12), c(errNotInstalled), 1.5, 0, false, false},
		{"skiff has no numbers", c(nil), c(nil, 12), 1.5, 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ok, pass := ratioTarget(tc.skiff, tc.peer, tc.target)
			if ok != tc.ok || pass != tc.pass || fmt.Sprintf("%.4f", r) != fmt.Sprintf("%.4f", tc.ratio) {
				t.Errorf("got ratio %.4f ok %v pass %v, want %.4f %v %v", r, ok, pass, tc.ratio, tc.ok, tc.pass)
			}
		})
	}
}

func TestMeasureDropsFailingCase(t *testing.T) {
	calls := 0
	good := &bcase{name: "good", step: func(int) (time.Duration, error) { return time.Millisecond, nil }}
	bad := &bcase{name: "bad", step: func(i int) (time.Duration, error) {
		calls++
		if i == 1 {
			return 0, errors.New("broke on 2nd")
		}
		return time.Millisecond, nil
	}}
	measure([]*bcase{good, bad}, 1, 4, func(string) {})
	if len(good.durs) != 4 {
		t.Errorf("good: %d timed iterations, want 4 (warm-up must not count)", len(good.durs))
	}
	if bad.err == nil || calls != 3 {
		t.Errorf("bad: err %v after %d calls, want an error after 3 (warm-up, #1, #2)", bad.err, calls)
	}
}

func TestAdaptSpec(t *testing.T) {
	s := &specs.Spec{
		Process: &specs.Process{Terminal: true, Args: []string{"sh"},
			Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1 << 20, Soft: 1 << 20}}},
		Root: &specs.Root{Path: "elsewhere"},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace}, {Type: specs.CgroupNamespace}, {Type: specs.UserNamespace},
		}},
	}
	adaptSpec(s)
	if s.Process.Terminal || !slices.Equal(s.Process.Args, []string{"true"}) || s.Process.Rlimits != nil || s.Root.Path != "rootfs" {
		t.Errorf("process/root not adapted: %+v %+v", s.Process, s.Root)
	}
	var got []specs.LinuxNamespaceType
	for _, ns := range s.Linux.Namespaces {
		got = append(got, ns.Type)
	}
	if !slices.Equal(got, skiffNamespaces) {
		t.Errorf("namespaces %v, want skiff's %v", got, skiffNamespaces)
	}
}

// TestGenerateLayers checks the generator on a small plan: same seed, same
// bytes; digests and sizes true to the files; the promised sizes and mix.
func TestGenerateLayers(t *testing.T) {
	plan := []layerPlan{{40, 600e3}, {10, 300e3}}
	a, err := generateLayers(t.TempDir(), plan, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, err := generateLayers(t.TempDir(), plan, 7)
	if err != nil {
		t.Fatal(err)
	}
	c, err := generateLayers(t.TempDir(), plan, 8)
	if err != nil {
		t.Fatal(err)
	}
	for i := range plan {
		t.Run(fmt.Sprint("layer", i), func(t *testing.T) {
			if a[i].digest != b[i].digest {
				t.Errorf("same seed, different digests %v %v", a[i].digest, b[i].digest)
			}
			if a[i].digest == c[i].digest {
				t.Errorf("different seeds, same digest %v", a[i].digest)
			}
			checkLayer(t, a[i], plan[i])
		})
	}
}

func checkLayer(t *testing.T, l *genLayer, p layerPlan) {
	t.Helper()
	blob, err := os.ReadFile(l.path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(blob)); got != l.digest.Hex || int64(len(blob)) != l.size {
		t.Errorf("digest/size %s/%d, file has %s/%d", l.digest.Hex, l.size, got, len(blob))
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(raw)); got != l.diffID.Hex || int64(len(raw)) != l.rawSize {
		t.Errorf("diffID/rawSize %s/%d, content has %s/%d", l.diffID.Hex, l.rawSize, got, len(raw))
	}
	if ratio := float64(len(raw)) / float64(len(blob)); ratio < 1.6 || ratio > 3.5 {
		t.Errorf("gzip ratio %.2f, want a realistic 2-3x", ratio)
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	var regs int
	var size int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			regs++
			size += h.Size
		}
	}
	if regs != l.files || regs <= p.smallFiles {
		t.Errorf("%d regular files, recorded %d, want more than the %d small ones", regs, l.files, p.smallFiles)
	}
	if size != p.totalBytes {
		t.Errorf("%d bytes of file content, plan says %d", size, p.totalBytes)
	}
}

// TestCostRow: a row judged by the medians' difference (issue 11's
// "volumes add at most 2 ms"), PASS at the bound, MISS above it.
func TestCostRow(t *testing.T) {
	for _, tt := range []struct {
		vol, plain time.Duration
		want       string
	}{
		{12 * time.Millisecond, 10500 * time.Microsecond, "volumes-plain +1.50 ms  <= +2.0 ms PASS"},
		{12 * time.Millisecond, 10 * time.Millisecond, "volumes-plain +2.00 ms  <= +2.0 ms PASS"},
		{13 * time.Millisecond, 10 * time.Millisecond, "volumes-plain +3.00 ms  <= +2.0 ms MISS"},
	} {
		s := &section{title: "t", fmtDur: ms, lhs: "volumes", skiff: &bcase{name: "vol", durs: []time.Duration{tt.vol}},
			peers: []peerRow{{c: &bcase{name: "plain", durs: []time.Duration{tt.plain}}, short: "plain", maxCost: 2 * time.Millisecond}}}
		var b strings.Builder
		s.print(&b)
		if !strings.Contains(b.String(), tt.want) {
			t.Errorf("got\n%s\nwant a line with %q", b.String(), tt.want)
		}
	}
}
