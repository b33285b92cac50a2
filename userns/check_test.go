package userns

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// realHelpers are the machine's newuidmap and newgidmap, or a skip.
func realHelpers(t *testing.T) Helpers {
	t.Helper()
	u, err1 := exec.LookPath("newuidmap")
	g, err2 := exec.LookPath("newgidmap")
	if err1 != nil || err2 != nil {
		t.Skip("newuidmap or newgidmap not installed (Debian's uidmap package)")
	}
	return Helpers{NewUIDMap: u, NewGIDMap: g}
}

func testFiles(t *testing.T, subuid, subgid string) Files {
	t.Helper()
	dir := t.TempDir()
	f := Files{SubUID: filepath.Join(dir, "subuid"), SubGID: filepath.Join(dir, "subgid")}
	write(t, f.SubUID, subuid)
	write(t, f.SubGID, subgid)
	return f
}

func TestPreflightRanges(t *testing.T) {
	h := realHelpers(t)
	alice := User{Name: "alice", UID: 1000, GID: 1000}
	for _, tc := range []struct {
		name, subuid, subgid string
		wantErr              string   // a part of the error, "" for none
		wantWarn             []string // parts of each warning, in order
	}{
		{name: "usual ranges", subuid: "alice:100000:65536\n", subgid: "alice:100000:65536\n"},
		{name: "two ranges adding up to 65536", subuid: "alice:100000:65535\nalice:300000:1\n", subgid: "alice:100000:65536\n"},
		{
			name:   "no ranges: the single-id warning names both files and usermod",
			subuid: "bob:100000:65536\n", subgid: "",
			wantWarn: []string{`user "alice" has no subordinate ids in SUBUID and SUBGID: using a single-id user namespace (only the user's own ids, as root), so images with files owned by other ids will not work; add ranges as root with "usermod --add-subuids 165536-231071 --add-subgids 100000-165535 alice" or by editing SUBUID and SUBGID`},
		},
		{
			name:   "gids missing only",
			subuid: "alice:100000:65536\n", subgid: "bob:100000:65536\nbob:165536:65536\n",
			wantWarn: []string{`user "alice" has no subordinate ids in SUBGID: using a single-id user namespace (only the user's own ids, as root), so images with files owned by other ids will not work; add ranges as root with "usermod --add-subgids 231072-296607 alice" or by editing SUBGID`},
		},
		{
			name:   "a small range",
			subuid: "alice:100000:1000\n", subgid: "alice:100000:65536\n",
			wantWarn: []string{`user "alice" has 1000 subordinate uids in SUBUID, fewer than the usual 65536: images with files owned by uid 1001 or above will not work; add more with "usermod --add-subuids FIRST-LAST alice" as root`},
		},
		{
			name:   "a range over the user's own uid",
			subuid: "alice:900:200\n", subgid: "alice:100000:65536\n",
			wantErr: `the subordinate uids 900-1099 of user "alice" in SUBUID include the user's own uid 1000, which is mapped to root: remove that range from SUBUID`,
		},
		{
			name:   "a range over the user's own gid",
			subuid: "alice:100000:65536\n", subgid: "alice:1000:1\n",
			wantErr: `the subordinate gids 1000-1000 of user "alice" in SUBGID include the user's own gid 1000`,
		},
		{
			name:   "overlapping ranges",
			subuid: "alice:100000:65536\nalice:165535:10\n", subgid: "alice:100000:65536\n",
			wantErr: `the subordinate uids 100000-165535 and 165535-165544 of user "alice" in SUBUID overlap: the kernel maps a host uid once; remove or shrink one in SUBUID`,
		},
		{
			name:   "the same line twice",
			subuid: "alice:100000:65536\n", subgid: "alice:100000:65536\n1000:100000:65536\n",
			wantErr: `the subordinate gids 100000-165535 and 100000-165535 of user "alice" in SUBGID overlap`,
		},
		{
			name:   "more ranges than a map takes",
			subuid: manyRanges(340), subgid: "alice:100000:65536\n",
			wantErr: `user "alice" has 340 subordinate uid ranges in SUBUID; a user namespace takes at most 339: merge them`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := testFiles(t, tc.subuid, tc.subgid)
			named := strings.NewReplacer(files.SubUID, "SUBUID", files.SubGID, "SUBGID")
			s, err := Read(alice, files)
			if err != nil {
				t.Fatal(err)
			}
			warnings, err := Preflight(s, h)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Preflight: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(named.Replace(err.Error()), tc.wantErr)) {
				t.Fatalf("Preflight error %v; want one with %q", err, tc.wantErr)
			}
			if len(warnings) != len(tc.wantWarn) {
				t.Fatalf("warnings %q; want %d", warnings, len(tc.wantWarn))
			}
			for i, w := range warnings {
				if w = named.Replace(w); !strings.Contains(w, tc.wantWarn[i]) || strings.Contains(w, "\n") {
					t.Errorf("warning %q; want one line with %q", w, tc.wantWarn[i])
				}
			}
		})
	}
}

func manyRanges(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("alice:" + strconv.Itoa(200000+10*i) + ":10\n")
	}
	return b.String()
}

func TestSuggestRangeSkipsEveryonesRanges(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Range
	}{
		{"", Range{100000, 65536}},
		{"bob:100000:65536\n", Range{165536, 65536}},
		{"bob:50000:60000\n", Range{110000, 65536}},
		{"bob:200000:65536\ncarol:100000:65536\n", Range{265536, 65536}},
		{"bob:170000:10\n", Range{100000, 65536}},
		{"bob:150000:10\n", Range{150010, 65536}},
		{"bob:165536:10\n", Range{100000, 65536}},
		{"#x:100000:65536\n", Range{165536, 65536}}, // shadow too reads it as user "#x"'s
	} {
		files := testFiles(t, tc.file, "")
		if got := suggestRange(files, uidKind); got != tc.want {
			t.Errorf("%q: suggestRange = %v, want %v", tc.file, got, tc.want)
		}
	}
}

func TestPreflightHelpers(t *testing.T) {
	alice := User{Name: "alice", UID: 1000, GID: 1000}
	files := testFiles(t, "alice:100000:65536\n", "alice:100000:65536\n")
	s, err := Read(alice, files)
	if err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(t.TempDir(), "newuidmap")
	write(t, plain, "#!/bin/sh\n")
	if err := os.Chmod(plain, 0o755); err != nil {
		t.Fatal(err)
	}

	t.Run("not installed", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, err := Preflight(s, Helpers{})
		want := "newuidmap, which maps the subordinate uids, is not installed: install Debian's uidmap package (shadow-utils on Fedora) as root"
		if err == nil || err.Error() != want {
			t.Errorf("Preflight = %v; want %q", err, want)
		}
	})
	t.Run("not privileged", func(t *testing.T) {
		_, err := Preflight(s, Helpers{NewUIDMap: plain, NewGIDMap: plain})
		want := plain + " is neither setuid root nor given the cap_setuid file capability, so it cannot map the subordinate uids"
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Preflight = %v; want %q", err, want)
		}
	})
	t.Run("no ranges needs no helper", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		single := Subordinate{User: alice, Files: files}
		warnings, err := Preflight(single, Helpers{})
		if err != nil || len(warnings) != 1 {
			t.Errorf("Preflight = %q, %v; want the single-id warning only", warnings, err)
		}
	})
	t.Run("the distribution's", func(t *testing.T) {
		if _, err := Preflight(s, realHelpers(t)); err != nil {
			t.Errorf("Preflight with the installed helpers: %v", err)
		}
	})
}

func TestCheckImage(t *testing.T) {
	alice := User{Name: "alice", UID: 1000, GID: 1000}
	files := Files{SubUID: "/etc/subuid", SubGID: "/etc/subgid"}
	full := Subordinate{User: alice, UIDs: []Range{{100000, 65536}}, GIDs: []Range{{100000, 65536}}}.Mapping()
	small := Subordinate{User: alice, UIDs: []Range{{100000, 1000}}, GIDs: []Range{{100000, 65536}}}.Mapping()
	single := Subordinate{User: alice}.Mapping()
	for _, tc := range []struct {
		name       string
		m          Mapping
		uid, gid   uint32
		want       string
		wantKind   string
		wantNeeded uint32
		wantMapped uint32
	}{
		{name: "root only, single", m: single},
		{name: "nobody in 65536", m: full, uid: 65534, gid: 65534},
		{name: "the top id", m: full, uid: 65536, gid: 65536},
		{
			name: "above the top", m: full, uid: 65537, gid: 0, wantKind: "uid", wantNeeded: 65537, wantMapped: 65536,
			want: `the image uses uid 65537 but the user namespace of user "alice" maps uids 0 to 65536 only: add at least 1 subordinate uids to /etc/subuid ("usermod --add-subuids FIRST-LAST alice" as root)`,
		},
		{
			name: "a small range", m: small, uid: 1001, gid: 0, wantKind: "uid", wantNeeded: 1001, wantMapped: 1000,
			want: `the image uses uid 1001 but the user namespace of user "alice" maps uids 0 to 1000 only`,
		},
		{
			name: "gids", m: small, uid: 0, gid: 70000, wantKind: "gid", wantNeeded: 70000, wantMapped: 65536,
			want: `the image uses gid 70000 but the user namespace of user "alice" maps gids 0 to 65536 only: add at least 4464 subordinate gids to /etc/subgid ("usermod --add-subgids FIRST-LAST alice" as root)`,
		},
		{
			name: "single-id and a file owned by 1", m: single, uid: 1, wantKind: "uid", wantNeeded: 1, wantMapped: 0,
			want: `the image uses uid 1 but the user namespace of user "alice" maps uids 0 to 0 only`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.CheckImage(tc.uid, tc.gid, files)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckImage: %v", err)
				}
				return
			}
			var ie *InsufficientIDsError
			if !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("CheckImage = %v; want an *InsufficientIDsError %q", err, tc.want)
			}
			if diff := cmp.Diff(InsufficientIDsError{Kind: tc.wantKind, Needed: tc.wantNeeded, Mapped: tc.wantMapped, User: "alice", File: "/etc/sub" + tc.wantKind}, *ie); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
