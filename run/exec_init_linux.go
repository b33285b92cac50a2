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
//   resolve the user against the container's /etc/passwd and /etc/group
//   with a terminal: open a pty in the container's devpts, send the master
//     to the CLI (msgPty), make the slave our stdio and controlling terminal
//   rlimits; no_new_privs
//   drop the bounding set; switch user; chdir and check the working
//     directory is inside the container's root (CVE-2024-21626)
//   find the command in the container's PATH
//   mark every fd above 2 close-on-exec; set the capabilities; execve
//
// Failures are reported as one msgError, as the init does (protocol.go).

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
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
	report(execProcess(cfg))
}

// execSetupErr is a failed exec set-up: docker reports it as 126 (the
// command "cannot be executed"), never run's 125.
func execSetupErr(err error) *initError { return &initError{126, err.Error()} }

func readExecConfig(conn syncSocket) (*ExecConfig, error) {
	var cfg ExecConfig
	if err := readConfig(conn, "exec config", &cfg); err != nil {
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
	if err != nil {
		return execSetupErr(err)
	}
	if proc.Terminal {
		if err := setupPty(user.UID, false); err != nil {
			return execSetupErr(err)
		}
	}
	for _, r := range proc.Rlimits {
		if err := setRlimit(r); err != nil {
			return execSetupErr(err)
		}
	}
	if proc.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return execSetupErr(fmt.Errorf("set no_new_privs: %w", err))
		}
	}
	env := withHome(proc.Env, user.Home)
	caps, err := capSetsFor(proc.Capabilities)
	if err != nil {
		return execSetupErr(err)
	}
	if err := becomeUser(user, caps); err != nil {
		return execSetupErr(err)
	}
	cwd := proc.Cwd
	if !filepath.IsAbs(cwd) {
		cwd = filepath.Join("/", cwd)
	}
	if err := chdirInRoot(cwd); err != nil {
		// docker: a missing -w is "no such file or directory", 127 too.
		if errors.Is(err, unix.ENOENT) {
			return &initError{127, err.Error()}
		}
		return execSetupErr(err)
	}
	path, ierr := lookPath(proc.Args[0], env)
	if ierr != nil {
		return ierr
	}
	if err := closeExtraFds(); err != nil {
		return execSetupErr(err)
	}
	if err := applyCaps(caps); err != nil {
		return execSetupErr(err)
	}
	unix.Umask(0o022)
	err = unix.Exec(path, proc.Args, env)
	return execFailure(proc.Args[0], err)
}
