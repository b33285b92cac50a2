package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFreeSubRange(t *testing.T) {
	const base, count = 1000, 100
	for _, tc := range []struct {
		name        string
		uids, gids  string
		want        uint32
		wantErrText string
	}{
		{"empty files: the base", "", "", base, ""},
		{"below the base ignored", "a:0:1000\n", "", base, ""},
		{"overlap at the base skips a step", "a:1050:10\n", "", base + count, ""},
		{"the other file counts too", "", "b:1000:150\n", base + 2*count, ""},
		{"touching is not overlapping", "a:900:100\nb:1100:5\n", "", base, ""},
		{"comments and junk lines ignored", "# x:1000:100\nbad line\n", "", base, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			u, g := filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
			os.WriteFile(u, []byte(tc.uids), 0o644)
			os.WriteFile(g, []byte(tc.gids), 0o644)
			got, err := freeSubRange([]string{u, g}, base, count)
			if err != nil || got != tc.want {
				t.Errorf("freeSubRange = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	t.Run("full below 2^31: an error", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "subuid")
		os.WriteFile(f, []byte(fmt.Sprintf("a:%d:%d\n", base, 1<<31-base)), 0o644)
		if got, err := freeSubRange([]string{f}, base, count); err == nil {
			t.Errorf("freeSubRange = %d, want an error", got)
		}
	})
}

func TestSkippedReads(t *testing.T) {
	err := skipped(fmt.Errorf("run: %w", errNotInstalled))
	if !errors.Is(err, errSkipped) || !errors.Is(err, errNotInstalled) {
		t.Errorf("%v: want both errSkipped and the cause", err)
	}
	if !strings.HasPrefix(err.Error(), "skipped: run: ") {
		t.Errorf("%q: want it to read skipped: <reason>", err)
	}
	var b strings.Builder
	sec := &section{title: "t", fmtDur: ms, skiff: &bcase{name: "rl", err: err}, peers: []peerRow{{c: &bcase{name: "p", err: errors.New("boom")}, short: "p"}}}
	sec.print(&b)
	for _, want := range []string{"rl  skipped", "! rl: skipped: run: not installed", "p   FAILED", "! p failed: boom"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestCompareTimelines(t *testing.T) {
	m := func(k string, ms float64) phaseMark { return phaseMark{key: k, ms: ms} }
	root := []phaseMark{m("cli start", 0), m("monitor start", 5), m("cli exited", 20), m("cli gone", 21)}
	rootless := []phaseMark{m("cli start", 0), m("cli reexec", 3), m("cli start#2", 8), m("monitor start", 12), m("cli exited", 30)}
	lines := compareTimelines(root, rootless)
	if len(lines) != 7 {
		t.Fatalf("%d lines, want a header, 5 rootless marks and 1 root-only:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, want := range []string{"", "+0.00", "-", "-", "+7.00", "+10.00", "(root only)"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d %q: want %q", i, lines[i], want)
		}
	}
}

func TestExtraSummary(t *testing.T) {
	m := func(k string, ms float64) phaseMark { return phaseMark{key: k, ms: ms} }
	root := []phaseMark{m("cli start", 0), m("cli done", 30), m(wallKey, 32)}
	rootless := []phaseMark{m("cli start", 0), m("cli done", 33), m(wallKey, 50)}
	got := extraSummary(root, rootless)
	for _, want := range []string{"+18.00 ms in all", "+3.00 ms by its last shared mark (cli done)", "+15.00 ms outside its marks"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if got := extraSummary(root, []phaseMark{m("x y", 1)}); !strings.Contains(got, "share no mark") {
		t.Errorf("no shared mark: %q", got)
	}
}

func TestProcStatus(t *testing.T) {
	self := os.Getpid()
	if kb, err := vmRSS(self); err != nil || kb <= 0 {
		t.Errorf("vmRSS(self) = %d, %v", kb, err)
	}
	if uid, ok := realUID(self); !ok || uid != uint32(os.Getuid()) {
		t.Errorf("realUID(self) = %d, %v; want %d", uid, ok, os.Getuid())
	}
	if _, err := vmRSS(-1); err == nil {
		t.Error("vmRSS of no process: no error")
	}
	if _, ok := realUID(-1); ok {
		t.Error("realUID of no process: ok")
	}
}

func TestOnlyFlags(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		only                   func(*options)
		in                     options
		wantUsernet, wantRless int
	}{
		{"-usernet-only drops the rootless table", (*options).onlyUsernet, options{runN: 20, usernetN: 20, rootlessN: 20}, 20, 0},
		{"-rootless-only drops the user network tables", (*options).onlyRootless, options{runN: 20, usernetN: 20, rootlessN: 7}, 0, 7},
		{"-rootless-only with -rootless-n 0 still measures", (*options).onlyRootless, options{rootlessN: 0}, 0, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.in
			tc.only(&o)
			if o.runN != 0 || o.usernetN != tc.wantUsernet || o.rootlessN != tc.wantRless {
				t.Errorf("run-n %d usernet-n %d rootless-n %d, want 0 %d %d", o.runN, o.usernetN, o.rootlessN, tc.wantUsernet, tc.wantRless)
			}
		})
	}
}

func TestCompareTimelinesAs(t *testing.T) {
	m := func(k string, ms float64) phaseMark { return phaseMark{key: k, ms: ms} }
	lines := compareTimelinesAs([]phaseMark{m("cli start", 0), m("cli gone", 9)}, []phaseMark{m("cli start", 0)}, "tapnet", "none")
	if len(lines) != 3 || !strings.Contains(lines[0], "tapnet at") || !strings.Contains(lines[0], "none at") || !strings.Contains(lines[2], "(none only)") {
		t.Errorf("labels not used:\n%s", strings.Join(lines, "\n"))
	}
}
