package run

// The container init: skiff re-exec'd as `skiff __skiff_init` by the parent
// into new mount, pid, uts, ipc and net namespaces, fd 3 its end of a
// SOCK_SEQPACKET socketpair, fds 0-2 the container's stdio. It:
//
//   lock the thread; mark fd 3 close-on-exec; read the msgConfig
//   make / rslave (nothing propagates either way from now on)
//   mount the overlay at Rootfs
//   mount Spec.Mounts in order, each target resolved inside Rootfs
//   fill /dev: device nodes, fd/std* links, ptmx -> pts/ptmx; the
//     container's own nodes (--device, --privileged's copy of the host's);
//     with --ipc container: the donor's /dev/shm (a detached mount, fd 4)
//   pivot_root into Rootfs and detach the old root
//   resolve the user against the container's /etc/passwd and /etc/group,
//     with --group-add's groups
//   with a terminal: open a pty in the container's devpts, bind the slave
//     on /dev/console, send the master to the parent (msgPty), make the slave our
//     stdio and controlling terminal
//   sysctls (rootfs.WriteProcSys); mask and read-only paths; hostname; lo up; rlimits; no_new_privs
//   create the working directory, owned by the user
//   with --read-only: make the root read-only (its mounts keep their own)
//   give a non-root user the stdio pipes
//   drop the bounding set; keep caps across setresuid; switch user; chdir
//     and check the working directory is inside the new root
//   find the command in the container's PATH
//   mark every fd above 2 close-on-exec; set the capabilities
//   load the seccomp filter (first of these steps without no_new_privs,
//     last with it: becomeProcess)
//   wait for the parent's msgGo (it has put us in our cgroup); execve
//
// Any failure is sent as one msgError (125 setup, 126 cannot execute, 127
// not found) and the init exits with that code; success is the socket
// closing on execve (protocol.go).

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/rootfs"
)

func initContainer() {
	// Namespaces, credentials and capabilities are per thread: everything
	// from here to execve must happen on this one.
	runtime.LockOSThread()
	conn := childSync("init", 125)
	cfg, err := readInitConfig(conn)
	if err != nil {
		report(setupErr(err))
	}
	report(startContainer(cfg))
}

func readInitConfig(conn syncSocket) (*InitConfig, error) {
	var cfg InitConfig
	if err := readConfig(conn, "init", &cfg); err != nil {
		return nil, err
	}
	var sp initSpec
	if err := json.Unmarshal(cfg.Spec, &sp); err != nil {
		return nil, fmt.Errorf("read init config: the container's config.json: %w", err)
	}
	cfg.oci = &sp.Spec
	if sp.Linux != nil {
		cfg.oci.Linux = &sp.Linux.Linux
	}
	if cfg.oci == nil || cfg.oci.Process == nil || len(cfg.oci.Process.Args) == 0 {
		return nil, errors.New("read init config: no process to run")
	}
	return &cfg, nil
}

// initSpec is config.json as the init reads it: linux.seccomp, which the
// start compiled and sent (InitConfig.Seccomp), is skipped undecoded, the
// profile's few hundred names being most of the file.
type initSpec struct {
	specs.Spec
	Linux *struct {
		specs.Linux
		Seccomp json.RawMessage `json:"seccomp,omitempty"`
	} `json:"linux,omitempty"`
}

// startContainer runs the flow described at the top of this file; it
// returns only on failure.
func startContainer(cfg *InitConfig) *initError {
	spec, proc := cfg.oci, cfg.oci.Process
	if err := prepareRoot(cfg); err != nil {
		return setupErr(err)
	}
	user, err := lookupUser(cfg.User)
	if err == nil {
		user, err = addGroups(user, cfg.GroupAdd)
	}
	if err != nil {
		return setupErr(err)
	}
	proc.User = specs.User{UID: user.UID, GID: user.GID, AdditionalGids: user.Groups}
	if proc.Terminal {
		if err := setupPty(user.UID, true); err != nil {
			return setupErr(err)
		}
	}
	if err := finishRoot(spec, cfg.HostNetwork); err != nil {
		return setupErr(err)
	}
	if err := mkdirAllOwned(absCwd(proc.Cwd), user.UID, user.GID); err != nil {
		return setupErr(err)
	}
	// Last of the root's changes: the working directory may need making.
	if spec.Root != nil && spec.Root.Readonly {
		if err := rootfs.ReadonlyRoot(); err != nil {
			return setupErr(err)
		}
	}
	if user.UID != 0 && !proc.Terminal {
		if err := chownStdio(user.UID, user.GID); err != nil {
			return setupErr(err)
		}
	}
	path, env, ierr := becomeProcess(proc, user, initRole, cfg.Seccomp)
	if ierr != nil {
		return ierr
	}
	timeline.Mark("ready")
	if err := awaitGo(syncFd); err != nil {
		return setupErr(err)
	}
	timeline.Mark("exec")
	if cfg.Init {
		return runTini(path, proc.Args, env, proc.Terminal, user) // tini_linux.go
	}
	err = unix.Exec(path, proc.Args, env)
	return execFailure(proc.Args[0], err)
}

// prepareRoot builds the container's tree and pivots into it.
func prepareRoot(cfg *InitConfig) error {
	// Born in its cgroup already: a new cgroup namespace is rooted there.
	if cfg.CgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("cgroup namespace: %w", os.NewSyscallError("unshare", err))
		}
	}
	if err := rootfs.MakeRootSlave(); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Rootfs, 0o700); err != nil {
		return fmt.Errorf("create rootfs mount point: %w", err)
	}
	if err := mountRoot(cfg); err != nil {
		return err
	}
	if err := rootfs.MountAll(cfg.Rootfs, cfg.oci.Mounts, cgroupViews(cfg.Cgroups)...); err != nil {
		return err
	}
	if err := rootfs.SetupDev(cfg.Rootfs, cfg.Rootless); err != nil {
		return err
	}
	if err := rootfs.MakeDevices(cfg.Rootfs, cfg.Devices); err != nil {
		return err
	}
	if cfg.SharedShm {
		if err := attachSharedShm(cfg.Rootfs); err != nil {
			return err
		}
	}
	timeline.Mark("rootfs")
	if err := rootfs.PivotRoot(cfg.Rootfs); err != nil {
		return err
	}
	timeline.Mark("pivot")
	return nil
}

// finishRoot applies what needs the pivoted root and the container's own
// /proc: masks, read-only paths, hostname, lo, rlimits, no_new_privs.
func finishRoot(spec *specs.Spec, hostNetwork bool) error {
	if l := spec.Linux; l != nil {
		// Before /proc/sys is made read-only.
		if err := writeSysctls(l.Sysctl); err != nil {
			return err
		}
		if err := rootfs.MaskPaths(l.MaskedPaths); err != nil {
			return err
		}
		if err := rootfs.ReadonlyPaths(l.ReadonlyPaths); err != nil {
			return err
		}
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", spec.Hostname, err)
		}
	}
	if spec.Domainname != "" { // --domainname, in the container's own UTS namespace
		if err := unix.Setdomainname([]byte(spec.Domainname)); err != nil {
			return fmt.Errorf("set domain name %q: %w", spec.Domainname, err)
		}
	}
	if !hostNetwork { // never the host's: a RUN --network host shares it
		if err := network.LoopbackUp(); err != nil {
			return err
		}
	}
	return limitProcess(spec.Process)
}

// limitProcess sets the process's rlimits and no_new_privs.
func limitProcess(proc *specs.Process) error {
	for _, r := range proc.Rlimits {
		if err := setRlimit(r); err != nil {
			return err
		}
	}
	if proc.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	return nil
}

var rlimitNames = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC,
	"RLIMIT_RSS": unix.RLIMIT_RSS, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
}

func setRlimit(r specs.POSIXRlimit) error {
	res, ok := rlimitNames[r.Type]
	if !ok {
		return fmt.Errorf("set rlimit: unknown type %q", r.Type)
	}
	lim := unix.Rlimit{Cur: r.Soft, Max: r.Hard}
	if err := unix.Prlimit(0, res, &lim, nil); err != nil {
		return fmt.Errorf("set rlimit %s: %w", r.Type, err)
	}
	return nil
}

// lookupUser resolves -u against the container's files (after pivot_root,
// so they are the image's, never the host's). Missing files are empty.
func lookupUser(spec string) (execUser, error) {
	passwd, err := os.Open("/etc/passwd")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return execUser{}, fmt.Errorf("resolve user %q: %w", spec, err)
	}
	if passwd != nil {
		defer passwd.Close()
	}
	group, err := os.Open("/etc/group")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return execUser{}, fmt.Errorf("resolve user %q: %w", spec, err)
	}
	if group != nil {
		defer group.Close()
	}
	// A nil *os.File in an io.Reader is not a nil interface: pass nil.
	return resolveUser(spec, fileOrNil(passwd), fileOrNil(group))
}

// becomeUser drops the bounding set while still root, then switches ids
// keeping the permitted set (PR_SET_KEEPCAPS) so applyCaps can set the
// final sets afterwards, as runc does.
func becomeUser(u execUser, caps capSets) error {
	if err := dropBounding(caps.bounding, lastCap()); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set keepcaps: %w", err)
	}
	if err := switchUser(u); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clear keepcaps: %w", err)
	}
	return nil
}

func cgroupViews(vs []cgroup.View) []rootfs.CgroupBind {
	out := make([]rootfs.CgroupBind, len(vs))
	for i, v := range vs {
		out[i] = rootfs.CgroupBind{Source: v.Dir, Target: v.Target}
	}
	return out
}

// mountRoot mounts the container's layers at cfg.Rootfs with the kernel's
// overlay, unless the monitor mounted them (fuse-overlayfs).
func mountRoot(cfg *InitConfig) error {
	if cfg.RootMounted {
		return nil
	}
	l := rootfs.Layers{Lower: cfg.Lowerdirs, Upper: cfg.Upper, Work: cfg.Work}
	return rootfs.MountOverlay(cfg.Rootfs, l, cfg.Rootless)
}
