package userns

// The root test of Apply: a user made for the test (useradd, and its
// /etc/subuid and /etc/subgid lines by usermod, shadow's own tools with
// shadow's locks) starts a child in a new user namespace and maps it as
// rootless skiff will, newuidmap running with the user's real uid. The
// user is the parent, as the rootless CLI will be: Go's exec cannot set a
// Credential and CLONE_NEWUSER together (the child would setuid inside the
// unmapped namespace), and newuidmap checks the caller against the
// namespace's owner anyway.
//
//   test (root) ──runs as the user──> apply role ──CLONE_NEWUSER──> child role
//                                      Apply(child)                 blocked on stdin
//                                      reads the child's maps       then execs (capabilities)
//                                      closes stdin                 and chowns a file to
//                                                                   1000:1000 inside

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// testRoleEnv selects a role of the test binary (TestMain).
const testRoleEnv = "SKIFF_USERNS_TEST_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(testRoleEnv) {
	case "apply":
		os.Exit(applyRole())
	case "child":
		os.Exit(childRole())
	case "mapped":
		os.Exit(mappedRole())
	}
	os.Exit(m.Run())
}

// applyReport is what the apply role tells the test.
type applyReport struct {
	ApplyErr  string
	UIDMap    string // the child's /proc/PID/uid_map, read from outside
	GIDMap    string
	Setgroups string
	Child     string // the child's own report: its ids, its chown's result
	Current   User   // Current() as the user
	Took      string // Apply's time: what a rootless start will pay for it
}

// applyRole runs as the test's user: applyToChild with the Mapping in
// SKIFF_USERNS_TEST_MAPPING, its report printed.
func applyRole() int {
	var m Mapping
	if err := json.Unmarshal([]byte(os.Getenv("SKIFF_USERNS_TEST_MAPPING")), &m); err != nil {
		fmt.Fprintln(os.Stderr, "apply role:", err)
		return 2
	}
	r, err := applyToChild(m, os.Getenv("SKIFF_USERNS_TEST_DIR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "apply role:", err)
		return 2
	}
	json.NewEncoder(os.Stdout).Encode(r)
	return 0
}

// applyToChild starts the child in a new user namespace, maps it with m,
// reads its maps from outside, then lets it make its file in dir.
func applyToChild(m Mapping, dir string) (applyReport, error) {
	child := exec.Command("/proc/self/exe")
	child.Env = append(roleEnv("child"), "SKIFF_USERNS_TEST_DIR="+dir)
	child.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	release, err := child.StdinPipe()
	if err != nil {
		return applyReport{}, err
	}
	var out bytes.Buffer
	child.Stdout, child.Stderr = &out, &out
	if err := child.Start(); err != nil {
		return applyReport{}, fmt.Errorf("starting the child: %w", err)
	}
	r := applyReport{Current: Current()}
	start := time.Now()
	if err := Apply(child.Process.Pid, m); err != nil {
		r.ApplyErr = err.Error()
	}
	r.Took = time.Since(start).String()
	proc := "/proc/" + strconv.Itoa(child.Process.Pid) + "/"
	r.UIDMap, r.GIDMap, r.Setgroups = readProc(proc+"uid_map"), readProc(proc+"gid_map"), readProc(proc+"setgroups")
	release.Close()
	child.Wait()
	r.Child = strings.TrimSpace(out.String())
	return r, nil
}

// roleEnv is this process's environment with role as the test role: only
// once, as Getenv takes a name's first value and syscall.Exec passes
// duplicates on.
func roleEnv(role string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, testRoleEnv+"=") {
			env = append(env, kv)
		}
	}
	return append(env, testRoleEnv+"="+role)
}

func readProc(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// childRole waits for its maps (stdin's EOF), then execs the mapped role:
// the kernel gives a process its capabilities in the namespace at execve,
// as root there only if its uid is mapped to 0 by then. This child was
// exec'd with its maps unwritten, so it holds none until it execs again.
func childRole() int {
	io.Copy(io.Discard, os.Stdin)
	err := syscall.Exec("/proc/self/exe", []string{"userns.test"}, roleEnv("mapped"))
	fmt.Println("exec:", err)
	return 2
}

// mappedRole says which ids it has and makes a file in
// SKIFF_USERNS_TEST_DIR owned by 1000:1000, as an extracted layer's file
// would be.
func mappedRole() int {
	chown := "ok"
	f := filepath.Join(os.Getenv("SKIFF_USERNS_TEST_DIR"), "owned")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		chown = err.Error()
	} else if err := os.Chown(f, 1000, 1000); err != nil {
		chown = err.Error()
	}
	fmt.Printf("uid=%d gid=%d chown=%s\n", os.Getuid(), os.Getgid(), chown)
	return 0
}

func TestApplyAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a user with useradd")
	}
	if _, err := exec.LookPath("newuidmap"); err != nil {
		t.Skip("newuidmap not installed (Debian's uidmap package)")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("useradd not installed")
	}
	bin := userReadableCopy(t)
	for _, tc := range []struct {
		name   string
		ranges bool
	}{
		{"subordinate ranges through newuidmap and newgidmap", true},
		{"single-id mapping written by the user", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := testUser(t)
			if tc.ranges {
				addSubIDs(t, u, Range{testSubUID, 65536}, Range{testSubGID, 65536})
			}
			s, err := Read(u, SystemFiles)
			if err != nil {
				t.Fatal(err)
			}
			wantUIDs, wantGIDs := []Range(nil), []Range(nil)
			if tc.ranges {
				wantUIDs, wantGIDs = []Range{{testSubUID, 65536}}, []Range{{testSubGID, 65536}}
			}
			if fmt.Sprint(s.UIDs, s.GIDs) != fmt.Sprint(wantUIDs, wantGIDs) {
				t.Fatalf("ranges read from /etc/subuid and /etc/subgid: %v %v, want %v %v", s.UIDs, s.GIDs, wantUIDs, wantGIDs)
			}
			warnings, err := Preflight(s, Helpers{})
			if err != nil || len(warnings) != map[bool]int{true: 0, false: 1}[tc.ranges] {
				t.Fatalf("Preflight = %q, %v", warnings, err)
			}
			m := s.Mapping()
			r, dir := runApplyRole(t, bin, u, m)
			if r.ApplyErr != "" {
				t.Fatalf("Apply as %s: %s", u.Name, r.ApplyErr)
			}
			t.Logf("Apply took %s", r.Took)
			if r.Current != u {
				t.Errorf("Current() as the user = %+v, want %+v", r.Current, u)
			}
			checkApplied(t, r, m, dir)
		})
	}
}

// checkApplied checks a child's maps after Apply: as the kernel shows
// them, and by what a chown inside does.
func checkApplied(t *testing.T, r applyReport, m Mapping, dir string) {
	t.Helper()
	if want := mapText(m.UIDs); r.UIDMap != want {
		t.Errorf("uid_map %q, want %q", r.UIDMap, want)
	}
	if want := mapText(m.GIDs); r.GIDMap != want {
		t.Errorf("gid_map %q, want %q", r.GIDMap, want)
	}
	if Single(m.GIDs) && r.Setgroups != "deny" {
		t.Errorf("setgroups %q, want deny (a single-id gid map needs it)", r.Setgroups)
	}

	// Inside, the user is root; a chown to 1000 lands where HostID
	// says, or fails where nothing maps 1000.
	hostUID, uidMapped := HostID(m.UIDs, 1000)
	hostGID, gidMapped := HostID(m.GIDs, 1000)
	mapped := uidMapped && gidMapped
	wantChild := "uid=0 gid=0 chown=ok"
	if !mapped {
		wantChild = "uid=0 gid=0 chown=chown " + dir + "/owned: invalid argument"
	}
	if r.Child != wantChild {
		t.Errorf("the child says %q, want %q", r.Child, wantChild)
	}
	if mapped {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(dir, "owned"), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != hostUID || st.Gid != hostGID {
			t.Errorf("a file chowned to 1000:1000 inside is %d:%d on the host, HostID says %d:%d", st.Uid, st.Gid, hostUID, hostGID)
		}
	}
}

// TestApplyAsSelf maps a child as the user running the tests, with its own
// lines of /etc/subuid and /etc/subgid (or none): the test a developer's
// unprivileged go test runs, where TestApplyAsUser skips.
func TestApplyAsSelf(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("runs as a user; as root, TestApplyAsUser makes one")
	}
	u := Current()
	s, err := Read(u, SystemFiles)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Preflight(s, Helpers{}); err != nil {
		t.Skipf("this user's namespace cannot be made here: %v", err)
	}
	m := s.Mapping()
	dir := t.TempDir()
	r, err := applyToChild(m, dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.ApplyErr != "" {
		t.Fatalf("Apply: %s", r.ApplyErr)
	}
	checkApplied(t, r, m, dir)
}

// TestApplyOverlapRefused: a range over the user's own uid, which
// Preflight refuses, is refused by newuidmap and the kernel too, and
// Apply's error says so through newuidmap's own words.
func TestApplyOverlapRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a user with useradd")
	}
	if _, err := exec.LookPath("newuidmap"); err != nil {
		t.Skip("newuidmap not installed (Debian's uidmap package)")
	}
	bin := userReadableCopy(t)
	u := testUser(t)
	addSubIDs(t, u, Range{u.UID, 10}, Range{testSubGID, 65536})
	s, err := Read(u, SystemFiles)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("the subordinate uids %d-%d of user %q in /etc/subuid include the user's own uid %d, which is mapped to root", u.UID, u.UID+9, u.Name, u.UID)
	if _, err := Preflight(s, Helpers{}); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Preflight = %v; want %q", err, want)
	}
	r, _ := runApplyRole(t, bin, u, s.Mapping())
	t.Logf("Apply: %s", r.ApplyErr)
	if !strings.HasPrefix(r.ApplyErr, "newuidmap ") || !strings.Contains(r.ApplyErr, "uid_map") {
		t.Errorf("Apply's error %q; want newuidmap's refusal to write uid_map", r.ApplyErr)
	}
	if r.UIDMap != "" {
		t.Errorf("uid_map %q after a refused Apply, want it unwritten", r.UIDMap)
	}
}

// The test user's ranges: far above useradd's (100000 on), so that they
// are nobody else's.
const (
	testSubUID = 3_000_000_000
	testSubGID = 3_000_100_000
)

// testUser creates a user with no home, no group of its own and no
// subordinate ids (useradd's own allocation off), and removes it after,
// checking that /etc/passwd, /etc/shadow, /etc/group, /etc/subuid and
// /etc/subgid are again exactly as before.
func testUser(t *testing.T) User {
	t.Helper()
	files := []string{"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/subuid", "/etc/subgid"}
	before := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		before[f] = b
	}
	name := fmt.Sprintf("skiffuns%d", os.Getpid()%1_000_000)
	run(t, "useradd", "-M", "-N", "-l", "-s", "/usr/sbin/nologin", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
		for _, f := range files {
			after, _ := os.ReadFile(f)
			checkRestored(t, f, name, before[f], after)
		}
	})
	pw, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.ParseUint(pw.Uid, 10, 32)
	gid, _ := strconv.ParseUint(pw.Gid, 10, 32)
	return User{Name: name, UID: uint32(uid), GID: uint32(gid)}
}

// checkRestored checks that file is as before the test: byte for byte,
// unless another process (shadow's tools take their locks; other tests
// may add users meanwhile) changed it too, when none of its lines names
// the test's user and every line it had is still there.
func checkRestored(t *testing.T, file, name string, before, after []byte) {
	t.Helper()
	if bytes.Equal(before, after) {
		return
	}
	kept, ok := map[string]bool{}, true
	for _, line := range strings.Split(string(after), "\n") {
		kept[line] = true
		if strings.Contains(line, name) {
			t.Errorf("%s still has %q after userdel", file, line)
			ok = false
		}
	}
	for _, line := range strings.Split(string(before), "\n") {
		if !kept[line] {
			t.Errorf("%s lost the line %q", file, line)
			ok = false
		}
	}
	if ok {
		t.Logf("%s was changed meanwhile by another process:\nbefore:\n%s\nafter:\n%s", file, before, after)
	}
}

// addSubIDs gives u a line in /etc/subuid and one in /etc/subgid, through
// usermod (shadow's locks: other tests may add users meanwhile); userdel
// removes them with the user.
func addSubIDs(t *testing.T, u User, uids, gids Range) {
	t.Helper()
	run(t, "usermod", "--add-subuids", uids.String(), "--add-subgids", gids.String(), u.Name)
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// userReadableCopy is the test binary copied where the test user can run
// it: go test's own directory is root's alone.
func userReadableCopy(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "skiff-userns-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "userns.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// runApplyRole runs the apply role as u and returns its report and the
// directory (u's) where the child made its file.
func runApplyRole(t *testing.T, bin string, u User, m Mapping) (applyReport, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "skiff-userns-child-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, int(u.UID), int(u.GID)); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a child blocked for good fails the test, not the run
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", testRoleEnv + "=apply", "SKIFF_USERNS_TEST_MAPPING=" + string(js), "SKIFF_USERNS_TEST_DIR=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{}}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("apply role as %s: %v: %s", u.Name, err, stderr.String())
	}
	var r applyReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("apply role's report %q: %v", out, err)
	}
	return r, dir
}

// mapText is maps as /proc/PID/uid_map shows them, blanks collapsed.
func mapText(maps []specs.LinuxIDMapping) string {
	return strings.Join(mapLines(maps), " ")
}
