package run

import specs "github.com/opencontainers/runtime-spec/specs-go"

// syncFd is the fd number of the init's end of the parent/init socketpair
// (SOCK_SEQPACKET): the first entry of exec.Cmd.ExtraFiles.
const syncFd = 3

// InitConfig is the one message the parent sends the init (JSON over the
// sync socket). Everything the init needs is here or in Spec, so the init
// reads no file of the host's.
type InitConfig struct {
	// Spec is the container's OCI config: Process (Args, Env, Cwd, Terminal,
	// Capabilities), Hostname, Mounts in order (proc, dev, sys, ... and the
	// generated /etc/hosts, /etc/hostname, /etc/resolv.conf binds), and
	// Linux.MaskedPaths / ReadonlyPaths. Process.User is filled by the init.
	Spec *specs.Spec `json:"spec"`
	// User is docker's -u or the image's User, unresolved ("", "name",
	// "uid", "uid:gid", "name:group"): the init resolves it against the
	// container's own /etc/passwd and /etc/group after pivot_root.
	User string `json:"user,omitempty"`
	// Lowerdirs are the image's layer dirs, top layer first (overlay order).
	Lowerdirs []string `json:"lowerdirs"`
	// Upper and Work are the container's overlay upper and work dirs.
	Upper string `json:"upper"`
	Work  string `json:"work"`
	// Rootfs is where the init mounts the overlay before pivot_root.
	Rootfs string `json:"rootfs"`
	// Rootless selects user.* overlay xattrs and skips what needs real root.
	Rootless bool `json:"rootless,omitempty"`
	// Init (--init) makes the init stay as the container's PID 1, forward
	// signals to the user's process and reap zombies, as tini does.
	Init bool `json:"init,omitempty"`
}

// InitResult is what the init sends back when it cannot exec the user's
// process; success is the socket closing on exec (it is O_CLOEXEC).
type InitResult struct {
	// Code is docker's: 125 setup failed, 126 cannot execute, 127 not found.
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// With Spec.Process.Terminal the init creates the pty inside the container's
// own devpts and sends the master to the parent as one message whose body is
// ptyMasterMsg and whose SCM_RIGHTS carries the fd, before it execs.
const ptyMasterMsg = "pty"

// goMsg is the parent's second message: the init is in its cgroup and may
// exec. The init builds the rootfs meanwhile, so the cgroup move (slow on
// v1) and the mounts overlap.
const goMsg = "go"
