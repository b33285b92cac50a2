package cgroup

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A rootless skiff reads its delegation inside its user namespace (the
// CLI that creates a container runs there), where the user is uid 0 and
// the user's files read as owned by 0; the host's root-owned ones read as
// the overflow uid. So Delegated's own uid (os.Geteuid, 0 there) is the
// one that matches, and the host uid (userns.HostUser) matches nothing.
// Shown in a real user namespace mapping 0 to the fake tree's owner, as
// a rootless skiff's maps its user: a child of the test binary.
func TestDelegatedInsideUserNS(t *testing.T) {
	if os.Getenv(delegatedChildEnv) != "" {
		delegatedChild()
		return
	}
	needChown(t)
	mount := t.TempDir()
	// The child, unprivileged on the host, must reach the fake tree.
	for _, d := range []string{filepath.Dir(mount), mount} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	makeFakeCgroups(t, mount, systemdUserTree("cpu memory pids", "cpu memory pids", ""))

	// Nor can it exec the test binary where go test built it (0700).
	bin := filepath.Join(filepath.Dir(mount), "cgroup.test")
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestDelegatedInsideUserNS$")
	cmd.Env = append(os.Environ(), delegatedChildEnv+"="+mount)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: i20TestUID, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: i20TestUID, Size: 1}},
		// Become the mapped 0 (host i20TestUID): cloned, the child is
		// still the host's root, which the namespace does not map.
		Credential: &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var got delegatedReport
	line := out[strings.LastIndexByte(strings.TrimSpace(string(out)), '\n')+1:]
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("child's report %q: %v", out, err)
	}
	if got.Euid != 0 {
		t.Fatalf("the child runs as uid %d in its namespace, want 0", got.Euid)
	}
	if want := filepath.Join(mount, i20Service); got.Own.Subtree != want {
		t.Errorf("inside, Delegated's uid (0) finds %q (%s), want %q", got.Own.Subtree, got.Own.Reason, want)
	}
	if got.Host.Subtree != "" || !strings.Contains(got.Host.Reason, "owned by uid 0") {
		t.Errorf("inside, the host uid %d finds %+v, want nothing (the user's files read as 0)", i20TestUID, got.Host)
	}
}

const delegatedChildEnv = "SKIFF_TEST_DELEGATED_CHILD"

// delegatedReport is what the child saw: its uid and the delegation read
// with it and with the host uid.
type delegatedReport struct {
	Euid      int
	Own, Host Delegation
}

// delegatedChild reads the fake tree's delegation both ways and prints
// the report as its last line.
func delegatedChild() {
	mount := os.Getenv(delegatedChildEnv)
	hs := []Hierarchy{{Mount: mount, V2: true}}
	self := "0::" + i20TermScope + "\n"
	r := delegatedReport{
		Euid: os.Geteuid(),
		Own:  DelegatedAt(hs, self, os.Geteuid()),
		Host: DelegatedAt(hs, self, i20TestUID),
	}
	b, _ := json.Marshal(r)
	os.Stdout.Write(append([]byte("\n"), append(b, '\n')...))
	os.Exit(0)
}
