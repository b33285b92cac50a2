package cgroup

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/internal/testenv"
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
	makeFakeCgroups(t, mount, systemdUserTree("cpu memory pids", "cpu memory pids", ""))
	out, err := testenv.UserNS{UID: i20TestUID}.RunTest(mount, delegatedChildEnv, "^TestDelegatedInsideUserNS$")
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var got delegatedReport
	line := []byte(out[strings.LastIndexByte(strings.TrimSpace(out), '\n')+1:])
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
