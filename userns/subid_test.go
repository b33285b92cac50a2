package userns

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRanges(t *testing.T) {
	alice := User{Name: "alice", UID: 1000, GID: 1000}
	for _, tc := range []struct {
		name, file string
		want       []Range
	}{
		{"by name", "alice:100000:65536\n", []Range{{100000, 65536}}},
		{"by uid", "1000:100000:65536\n", []Range{{100000, 65536}}},
		{"several lines, file order", "alice:300000:10\nbob:100000:65536\n1000:200000:5\n", []Range{{300000, 10}, {200000, 5}}},
		{"another user only", "bob:100000:65536\n1001:165536:65536\n", nil},
		{"comments and blanks", "# alice:1:2\n\n#alice:5:6\nalice:100000:65536\n", []Range{{100000, 65536}}},
		{"hex and octal as strtoul", "alice:0x186a0:0x10000\nalice:0303240:010\n", []Range{{100000, 65536}, {100000, 8}}},
		{"too few fields", "alice:100000\n", nil},
		{"too many fields", "alice:100000:65536:x\n", nil},
		{"empty owner", ":100000:65536\n", nil},
		{"empty number", "alice::65536\nalice:100000:\n", nil},
		{"not a number", "alice:1e5:65536\nalice:100000:65536x\nalice: 100000:65536\nalice:-1:5\nalice:+1:5\nalice:1_000:5\n", nil},
		{"bad octal digit", "alice:09:1\n", nil},
		{"start beyond the id space", "alice:4294967296:1\n", nil},
		{"range beyond the id space", "alice:4294967295:2\nalice:4294967290:6\n", []Range{{4294967290, 6}}},
		{"no ids", "alice:100000:0\n", nil},
		{"name is not a prefix match", "alice2:100000:65536\nalic:1:2\n10000:5:5\n", nil},
		{"crlf is not a line end", "alice:100000:65536\r\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseRanges(tc.file, alice)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ranges (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadRangesFile(t *testing.T) {
	dir := t.TempDir()
	u := User{Name: "alice", UID: 1000, GID: 1000}
	got, err := ReadRanges(filepath.Join(dir, "missing"), u)
	if err != nil || got != nil {
		t.Errorf("missing file: %v, %v; want no ranges and no error, as shadow", got, err)
	}
	if _, err := ReadRanges(dir, u); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("a directory: %v; want an error naming it", err)
	}
	path := filepath.Join(dir, "subuid")
	if err := os.WriteFile(path, []byte("alice:100000:65536\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = ReadRanges(path, u)
	if err != nil || !cmp.Equal(got, []Range{{100000, 65536}}) {
		t.Errorf("ReadRanges = %v, %v", got, err)
	}
}

func TestCurrent(t *testing.T) {
	u := Current()
	if u.UID != uint32(os.Geteuid()) || u.GID != uint32(os.Getegid()) {
		t.Errorf("Current() = %+v; want uid %d gid %d", u, os.Geteuid(), os.Getegid())
	}
	if pw, err := user.LookupId(strconv.Itoa(os.Geteuid())); err == nil && u.Name != pw.Username {
		t.Errorf("Current().Name = %q, want %q", u.Name, pw.Username)
	}
}

// A user known by NSS alone has no name for a static skiff: its lines by
// uid are found, none by a name, and messages call it by its uid.
func TestNamelessUser(t *testing.T) {
	u := User{UID: 1000, GID: 1000}
	got := parseRanges("alice:100000:65536\n1000:200000:65536\n", u)
	if !cmp.Equal(got, []Range{{200000, 65536}}) {
		t.Errorf("ranges %v, want the uid's line only", got)
	}
	if u.String() != "1000" || (User{Name: "alice", UID: 1000}).String() != "alice" {
		t.Errorf("String: %q, %q", u, User{Name: "alice", UID: 1000})
	}
	w, err := Preflight(Subordinate{User: u, Files: testFiles(t, "", "")}, Helpers{})
	if err != nil || len(w) != 1 || !strings.HasPrefix(w[0], `user "1000" has no subordinate ids`) {
		t.Errorf("Preflight = %q, %v", w, err)
	}
}
