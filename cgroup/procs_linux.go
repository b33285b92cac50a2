package cgroup

// A container's processes, as its cgroup knows them: Procs lists them and
// Kill SIGKILLs them, whichever version each hierarchy is. Both read
// cgroup.procs (one pid a line on v1 and v2); v2 kills through cgroup.kill
// (Linux 5.14) when it has one, which also catches a process that forks
// while it is being killed, and falls back to v1's way on older kernels.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Procs lists the container's processes from the first hierarchy whose
// cgroup has any (every process the container started, exec'd ones too).
// It returns nil when none has: nothing runs, or no cgroup could be made.
func (c *Cgroup) Procs() ([]int, error) {
	var errs []error
	for _, d := range c.dirs {
		pids, err := readProcs(d.path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(pids) > 0 {
			return pids, nil
		}
	}
	return nil, errors.Join(errs...)
}

// Kill SIGKILLs every process in the container's cgroup, in every
// hierarchy: an init whose pid was never recorded is found there. It does
// not wait for them to die.
func (c *Cgroup) Kill() error {
	var errs []error
	for _, d := range c.dirs {
		kill := killV1
		if d.h.V2 {
			kill = killV2
		}
		if err := kill(d.path); err != nil {
			errs = append(errs, fmt.Errorf("cgroup %s: kill: %w", d.path, err))
		}
	}
	return errors.Join(errs...)
}

// killV1 signals each pid listed in dir's cgroup.procs.
func killV1(dir string) error {
	pids, err := readProcs(dir)
	for _, pid := range pids {
		if kerr := unix.Kill(pid, unix.SIGKILL); kerr != nil && kerr != unix.ESRCH {
			err = errors.Join(err, fmt.Errorf("pid %d: %w", pid, kerr))
		}
	}
	return err
}

// killV2 writes cgroup.kill: the kernel kills the whole cgroup at once.
// Opened without O_CREAT, so a kernel without it is told apart.
func killV2(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, "cgroup.kill"), os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return killV1(dir)
	}
	if err != nil {
		return err
	}
	_, err = f.WriteString("1")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readProcs reads dir's cgroup.procs.
func readProcs(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}
