package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// UserNS is a user namespace as a rootless skiff's CLI runs in: its root
// is an unprivileged host uid (and gid), and ids 1..65536 are the host's
// from Range (a user's /etc/subuid range), or nothing (Range 0: a single
// id map, a user without ranges). No such user need exist.
type UserNS struct{ UID, Range int }

// RunTest runs the tests matching run (-test.run) of a copy of this test
// binary as the namespace's root, in a new user and mount namespace, with
// env=dir in its environment (the child's cue), and returns its output.
// The copy goes beside dir, and dir with its parents below the temp dir
// are made 0755: the child is no one on the host, and must reach both.
// The caller must be root (to write the maps).
func (ns UserNS) RunTest(dir, env, run string) (string, error) {
	for d := dir; strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			return "", err
		}
	}
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		return "", err
	}
	bin := filepath.Join(filepath.Dir(dir), filepath.Base(os.Args[0])+".userns")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		return "", err
	}
	defer os.Remove(bin)
	maps := []syscall.SysProcIDMap{{ContainerID: 0, HostID: ns.UID, Size: 1}}
	if ns.Range > 0 {
		maps = append(maps, syscall.SysProcIDMap{ContainerID: 1, HostID: ns.Range, Size: 65536})
	}
	cmd := exec.Command(bin, "-test.run="+run)
	cmd.Env = append(os.Environ(), env+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: maps,
		GidMappings: maps,
		// Become the mapped root: cloned, the child is still the host's
		// root, which the namespace does not map.
		Credential: &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
