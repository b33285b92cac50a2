package run

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/rootfs"
	"github.com/skiff-dev/skiff/seccomp"
)

// defaultPath is docker's PATH for a container whose env has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// initError is a failure with docker's exit status for it.
type initError struct {
	code int
	msg  string
}

func (e *initError) Error() string { return e.msg }

func setupErr(err error) *initError { return initRole.fail(err) }

// childRole is what differs between the init and an exec'd process once
// both are in the container: docker's statuses for their failures.
type childRole struct {
	setup      int // a failed set-up: run's 125, exec's 126 ("cannot be executed")
	missingCwd int // no working directory: exec's 127 ("no such file or directory")
}

var (
	initRole = childRole{setup: 125, missingCwd: 125} // the init creates it first
	execRole = childRole{setup: 126, missingCwd: 127}
)

func (r childRole) fail(err error) *initError { return &initError{r.setup, err.Error()} }

// becomeProcess runs the steps both children end with, in order: drop to
// the user keeping the caps it gets, enter the working directory and check
// it is inside the root (CVE-2024-21626), find the command in the
// container's PATH, mark every fd above 2 close-on-exec (the sync socket
// too: it closes at execve), set the caps. It returns the command's path
// and environment, ready for execve.
//
// The seccomp filter is loaded as runc loads it: without no_new_privs,
// loading needs CAP_SYS_ADMIN, so first of all, while the caps are whole;
// with it, last, so that as little as possible runs under the filter.
func becomeProcess(proc *specs.Process, user execUser, role childRole, filter *seccomp.Program) (string, []string, *initError) {
	env := withHome(proc.Env, user.Home)
	caps, err := capSetsFor(proc.Capabilities)
	if err != nil {
		return "", nil, role.fail(err)
	}
	if !proc.NoNewPrivileges {
		if err := seccomp.Load(filter); err != nil {
			return "", nil, role.fail(err)
		}
	}
	if err := becomeUser(user, caps); err != nil {
		return "", nil, role.fail(err)
	}
	if err := chdirInRoot(absCwd(proc.Cwd)); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return "", nil, &initError{role.missingCwd, err.Error()}
		}
		return "", nil, role.fail(err)
	}
	path, ierr := lookPath(proc.Args[0], env)
	if ierr != nil {
		return "", nil, ierr
	}
	if err := closeExtraFds(); err != nil {
		return "", nil, role.fail(err)
	}
	if err := applyCaps(caps); err != nil {
		return "", nil, role.fail(err)
	}
	unix.Umask(0o022)
	if proc.NoNewPrivileges {
		if err := seccomp.Load(filter); err != nil {
			return "", nil, role.fail(err)
		}
	}
	return path, env, nil
}

// absCwd is the process's working directory as an absolute path.
func absCwd(cwd string) string {
	if !filepath.IsAbs(cwd) {
		return filepath.Join("/", cwd)
	}
	return cwd
}

// lookPath finds file as execvp would, using the container's PATH from env,
// with the calling thread's ids (call it after switching user). It maps the
// failures to docker's statuses: 127 not found, 126 cannot be executed.
func lookPath(file string, env []string) (string, *initError) {
	if strings.Contains(file, "/") {
		if err := checkExecutable(file); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return "", &initError{127, fmt.Sprintf("exec: %q: stat %s: no such file or directory", file, file)}
			}
			return "", &initError{126, fmt.Sprintf("exec: %q: %s", file, errText(err))}
		}
		return file, nil
	}
	path := defaultPath
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", &initError{127, fmt.Sprintf("exec: %q: executable file not found in $PATH", file)}
}

// checkExecutable is nil for a regular file the thread's effective ids may
// execute; a directory is EACCES, as execve says.
func checkExecutable(p string) error {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return unix.EACCES
	}
	return unix.Faccessat(unix.AT_FDCWD, p, unix.X_OK, unix.AT_EACCESS)
}

// errText is an errno as Go prints it ("permission denied").
func errText(err error) string {
	var en unix.Errno
	if errors.As(err, &en) {
		return en.Error()
	}
	return err.Error()
}

// execFailure maps a failed execve to docker's status: a missing file or
// interpreter is 127, anything else (EACCES, ENOEXEC, ...) 126.
func execFailure(file string, err error) *initError {
	if errors.Is(err, unix.ENOENT) {
		return &initError{127, fmt.Sprintf("exec: %q: no such file or directory", file)}
	}
	return &initError{126, fmt.Sprintf("exec: %q: %s", file, errText(err))}
}

// closeExtraFds marks every fd above 2 close-on-exec, so nothing the init or
// the Go runtime opened (a host directory above all: CVE-2024-21626)
// reaches the container's process. The sync socket stays usable until exec.
func closeExtraFds() error {
	err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("close_range: %w", err)
	}
	// Before 5.11: walk the fds a checked procfs lists instead.
	fds, err := rootfs.ProcSelfFds()
	if err != nil {
		return err
	}
	for _, fd := range fds {
		if fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}

// setgroupsDenied reports whether this user namespace refuses setgroups
// (a rootless skiff's single-id mapping, whose gid map the kernel takes
// from an unprivileged writer only after "deny"): the process keeps the
// groups it has, none of which the namespace maps.
func setgroupsDenied() bool {
	b, err := os.ReadFile("/proc/self/setgroups")
	return err == nil && strings.TrimSpace(string(b)) == "deny"
}

// switchUser sets groups, gid and uid of this thread only (raw syscalls:
// Go's Setuid would change every thread; we exec from this one).
func switchUser(u execUser) error {
	groups := make([]int, len(u.Groups))
	for i, g := range u.Groups {
		groups[i] = int(g)
	}
	if err := unix.Setgroups(groups); err != nil && !(err == unix.EPERM && setgroupsDenied()) {
		return fmt.Errorf("setgroups %v: %w", u.Groups, err)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); e != 0 {
		return fmt.Errorf("setresgid %d: %w", u.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); e != 0 {
		return fmt.Errorf("setresuid %d: %w", u.UID, e)
	}
	return nil
}

// mkdirAllOwned creates dir and its missing parents owned by uid:gid, as
// docker creates a missing WORKDIR or -w. Called after pivot_root, so the
// path is the container's.
func mkdirAllOwned(dir string, uid, gid uint32) error {
	cur := "/"
	for _, c := range strings.Split(filepath.Clean(dir), "/") {
		if c == "" {
			continue
		}
		cur = filepath.Join(cur, c)
		err := unix.Mkdir(cur, 0o755)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return fmt.Errorf("create working directory %s: %w", cur, err)
		}
		if err := unix.Lchown(cur, int(uid), int(gid)); err != nil {
			return fmt.Errorf("chown working directory %s: %w", cur, err)
		}
	}
	return nil
}

// chdirInRoot enters the working directory and checks that it is inside
// the container's root: getcwd reports "(unreachable)/..." for a directory
// outside it, which is how a leaked host fd shows (CVE-2024-21626).
func chdirInRoot(dir string) error {
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("chdir to cwd (%q) set in config.json failed: %w", dir, err)
	}
	wd, err := unix.Getwd()
	if err != nil {
		return fmt.Errorf("check working directory %q: %w", dir, err)
	}
	if !strings.HasPrefix(wd, "/") {
		return fmt.Errorf("working directory %q is outside the container (%s)", dir, wd)
	}
	return nil
}

// chownStdio gives the user the container's stdio (pipes the parent made
// as root), so reopening /dev/stdout works after the switch, as runc does.
// A device (the null device the parent opened: the host's /dev/null) and
// anything we may not change are left alone. Which device is null is not
// asked of the container's /dev/null: a link there made this chown the
// host's /dev/null to the container's user.
func chownStdio(uid, gid uint32) error {
	for fd := 0; fd <= 2; fd++ {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			if errors.Is(err, unix.EBADF) {
				continue
			}
			return fmt.Errorf("stat fd %d: %w", fd, err)
		}
		if t := st.Mode & unix.S_IFMT; t == unix.S_IFCHR || t == unix.S_IFBLK || st.Uid == uid {
			continue
		}
		err := unix.Fchown(fd, int(uid), int(gid))
		if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EROFS) {
			return fmt.Errorf("chown fd %d to the container user: %w", fd, err)
		}
	}
	return nil
}
