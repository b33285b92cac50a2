package run

// The exec side: skiff started by `skiff exec` as `skiff __skiff_exec`,
// born in every namespace of a running container (the CLI forked it from a
// thread that had joined them), fd 3 its end of a SOCK_SEQPACKET
// socketpair, fds 0-2 its stdio. The container's root is already ours
// (setns into a mount namespace moves root and cwd to its root), so
// unlike the init there is nothing to mount. It:
//
//   lock the thread; mark fd 3 close-on-exec; no longer dumpable (the
//     container's processes must not ptrace or open /proc/<pid>/exe of a
//     skiff binary running as the host's root)
//   read the msgConfig (an ExecConfig); wait for the CLI's msgGo (it has
//     put us in the container's cgroup)
//   resolve the user against the container's /etc/passwd and /etc/group,
//     with the container's --group-add groups
//   with a terminal: open a pty in the container's devpts, send the master
//     to the CLI (msgPty), make the slave our stdio and controlling terminal
//   rlimits; no_new_privs
//   drop the bounding set; switch user; chdir and check the working
//     directory is inside the container's root (CVE-2024-21626)
//   find the command in the container's PATH
//   mark every fd above 2 close-on-exec; set the capabilities; load the
//     container's seccomp filter (as the init: becomeProcess); execve
//
// Failures are reported as one msgError, as the init does (protocol.go).

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/internal/timeline"
)

func execInContainer() {
	runtime.LockOSThread()
	conn := childSync("exec", 126)
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		report(execSetupErr(fmt.Errorf("set non-dumpable: %w", err)))
	}
	cfg, err := readExecConfig(conn)
	if err != nil {
		report(execSetupErr(err))
	}
	// Nothing of the container is touched before we are in its cgroup,
	// so its limits, and its devices cgroup once skiff restricts devices
	// as docker does (not yet: a container's root may mknod, and
	// /etc/passwd could then be a disk), cover every open. It costs no
	// time: the CLI's cgroup writes outlast our runtime's start anyway.
	if err := awaitGo(conn); err != nil {
		report(execSetupErr(err))
	}
	timeline.Mark("go")
	report(execProcess(cfg))
}

// execSetupErr is a failed exec set-up: docker reports it as 126 (the
// command "cannot be executed"), never run's 125.
func execSetupErr(err error) *initError { return execRole.fail(err) }

func readExecConfig(conn syncSocket) (*ExecConfig, error) {
	var cfg ExecConfig
	if err := readConfig(conn, "exec", &cfg); err != nil {
		return nil, err
	}
	if cfg.Process == nil || len(cfg.Process.Args) == 0 {
		return nil, errors.New("read exec config: no process to run")
	}
	return &cfg, nil
}

// execProcess runs the flow at the top of this file; it returns only on
// failure.
func execProcess(cfg *ExecConfig) *initError {
	proc := cfg.Process
	user, err := lookupUser(cfg.User)
	if err == nil {
		user, err = addGroups(user, cfg.GroupAdd)
	}
	if err != nil {
		return execSetupErr(err)
	}
	if proc.Terminal {
		if err := setupPty(user.UID, false); err != nil {
			return execSetupErr(err)
		}
	}
	if err := limitProcess(proc); err != nil {
		return execSetupErr(err)
	}
	path, env, ierr := becomeProcess(proc, user, execRole, cfg.Seccomp)
	if ierr != nil {
		return ierr
	}
	timeline.Mark("exec")
	err = unix.Exec(path, proc.Args, env)
	return execFailure(proc.Args[0], err)
}
