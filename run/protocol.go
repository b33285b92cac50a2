package run

// The sync protocol between the parent (skiff run's monitor, or skiff exec)
// and the child it starts through the sealed binary (__skiff_init or
// __skiff_exec). Transport: one end of a SOCK_SEQPACKET socketpair each,
// the child's as fd 3 and close-on-exec, so one write is one message and
// the socket closing is a signal of its own. Every message is one kind
// byte and a bounded payload; a pty master travels as SCM_RIGHTS on its
// message. As runc's libcontainer/sync.go, the exchange is written down:
//
//	  [ parent ]                            [ child ]
//	  msgTimeline {origin}  (with -D)   -->  mark its phases from now on
//	  msgConfig {InitConfig|ExecConfig} -->  set itself up (the init: rootfs,
//	  [cgroup: new (init) or joined]          pivot_root, user, caps, ...)
//	                                    <--  msgMark "init rootfs 12.34" (-D)
//	                                    <--  msgPty + fd   (with a terminal)
//	                                    <--  msgError {code, msg}, exit
//	  msgGo                             -->  [in its cgroup now] execve
//	                                    <--  EOF: execve happened
//
// EOF is the one success signal and a property of the transport, not a
// message: no write can follow a successful execve, and the socket's
// close-on-exec (or --init's explicit close once the user's process runs)
// is what tells the parent the child's own process is running. Since
// every message carries a kind byte, EOF (a zero-length read) can never
// be mistaken for one.

import (
	"encoding/json"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/seccomp"
)

// syncFd is the fd number of the child's end of the sync socket: the first
// entry of exec.Cmd.ExtraFiles.
const syncFd = 3

// msgKind is a sync message's type: its first byte.
type msgKind byte

const (
	// msgConfig (parent -> child, first): the JSON InitConfig or
	// ExecConfig, at most maxConfigSize bytes.
	msgConfig msgKind = 1
	// msgGo (parent -> child, no payload): the child is in its cgroup and
	// may exec. The child sets itself up meanwhile, so the cgroup move
	// (slow on v1) and the rootfs build overlap.
	msgGo msgKind = 2
	// msgPty (child -> parent, no payload): SCM_RIGHTS carries the master
	// of the pty the child made in the container's own devpts.
	msgPty msgKind = 3
	// msgError (child -> parent, last): the JSON InitResult of a child that
	// cannot exec the user's process; it exits with that code.
	msgError msgKind = 4
	// msgTimeline (parent -> child, before msgConfig, only with -D): the
	// CLI's start as 8 big-endian bytes (ns on CLOCK_MONOTONIC); the child
	// marks its phases (internal/timeline) from then on.
	msgTimeline msgKind = 5
	// msgMark (child -> parent, only after msgTimeline): one phase mark,
	// "<process> <phase> <ms>", for the parent to pass on toward the
	// CLI's stderr. The child's stderr is the container's, which a mark
	// must never enter; the sync socket closes at execve, so nothing the
	// container runs can send one.
	msgMark msgKind = 6
	// msgSeccomp (parent -> child, before msgConfig, only for a filtered
	// container): the compiled seccomp filter, raw (8 big-endian bytes of
	// SECCOMP_FILTER_FLAG_* bits, then the sock_filter array), kept out of
	// msgConfig's JSON, where its base64 cost the init's start ~0.3 ms.
	msgSeccomp msgKind = 7
)

func (k msgKind) String() string {
	switch k {
	case msgConfig:
		return "config"
	case msgGo:
		return "go"
	case msgPty:
		return "pty"
	case msgError:
		return "error"
	case msgTimeline:
		return "timeline"
	case msgMark:
		return "mark"
	case msgSeccomp:
		return "seccomp"
	}
	return "unknown"
}

// maxConfigSize bounds msgConfig's payload; a spec with a huge env or many
// mounts is still far below it.
const maxConfigSize = 1 << 20

// maxReplySize bounds what the parent reads from the child (msgError's
// one-line message and code).
const maxReplySize = 64 << 10

// InitConfig is msgConfig's payload for the init. Everything the init needs
// is here or in Spec, so the init reads no file of the host's.
type InitConfig struct {
	// Spec is the container's OCI config: Process (Args, Env, Cwd, Terminal,
	// Capabilities), Hostname, Mounts in order (proc, dev, sys, ... and the
	// generated /etc/hosts, /etc/hostname, /etc/resolv.conf binds), and
	// Linux.MaskedPaths / ReadonlyPaths. Process.User is filled by the init.
	// It is config.json's bytes, passed on undecoded by the monitor (the
	// first decode of the OCI types costs a process ~1.5 ms); the init
	// decodes it into oci.
	Spec json.RawMessage `json:"spec"`
	oci  *specs.Spec
	// User is docker's -u or the image's User, unresolved ("", "name",
	// "uid", "uid:gid", "name:group"): the init resolves it against the
	// container's own /etc/passwd and /etc/group after pivot_root.
	User string `json:"user,omitempty"`
	// GroupAdd is --group-add as typed: names and gids the init resolves
	// against the container's /etc/group, added to the user's groups.
	GroupAdd []string `json:"groupAdd,omitempty"`
	// Lowerdirs are the image's layer dirs, top layer first (overlay order).
	Lowerdirs []string `json:"lowerdirs"`
	// Upper and Work are the container's overlay upper and work dirs.
	Upper string `json:"upper"`
	Work  string `json:"work"`
	// Rootfs is where the init mounts the overlay before pivot_root.
	Rootfs string `json:"rootfs"`
	// Rootless selects user.* overlay xattrs and skips what needs real root.
	Rootless bool `json:"rootless,omitempty"`
	// RootMounted: the monitor has mounted the root at Rootfs already
	// (fuse-overlayfs, whose server it runs); else the init mounts overlay.
	RootMounted bool `json:"rootMounted,omitempty"`
	// HostNetwork leaves the init in the host's network namespace (its OCI
	// config then lists no network namespace either).
	HostNetwork bool `json:"hostNetwork,omitempty"`
	// Init (--init) makes the init stay as the container's PID 1, forward
	// signals to the user's process and reap zombies, as tini does.
	Init bool `json:"init,omitempty"`
	// CgroupNS (--cgroupns private) gives the container its own cgroup
	// namespace, rooted at its cgroup (the init unshares it, once born
	// there). Cgroups are its cgroup's directories, bound read-only under
	// its /sys/fs/cgroup (filled by the start from the cgroup it made).
	CgroupNS bool `json:"cgroupNS,omitempty"`
	// CgroupParent is --cgroup-parent: where the start makes the cgroup
	// (under each hierarchy's root; "": skiff's /skiff).
	CgroupParent string        `json:"cgroupParent,omitempty"`
	Cgroups      []cgroup.View `json:"cgroups,omitempty"`
	// Delegation is a rootless container's delegated cgroup
	// (cgroup.Recorded from the record; nil: root's, or none): the start
	// makes the cgroup below it instead. The start's, not the init's.
	Delegation *cgroup.Delegation `json:"-"`
	// SharedShm (--ipc container:) says fd 4 is a detached copy of the
	// donor's /dev/shm mount, for the init to attach as its /dev/shm.
	SharedShm bool `json:"sharedShm,omitempty"`
	// Seccomp is Spec's linux.seccomp compiled (seccomp.Cached, by the
	// start, from the cache): the init only loads it. nil: unconfined.
	// It travels as msgSeccomp.
	Seccomp *seccomp.Program `json:"-"`
	// Devices are the device nodes the init makes in the container's tree
	// (--device's, and the host's with --privileged), resolved by the
	// start from the host's nodes; its cgroup's rules say what it may open.
	Devices []specs.LinuxDevice `json:"devices,omitempty"`
}

// ExecConfig is msgConfig's payload for an exec'd process.
type ExecConfig struct {
	// Process is the container's process settings with exec's changes:
	// Args, Env (the container's plus -e), Cwd, Terminal, Capabilities,
	// NoNewPrivileges, Rlimits. Process.User is ignored: see User.
	Process *specs.Process `json:"process"`
	// User is -u or the container's user, resolved inside the container.
	User string `json:"user,omitempty"`
	// GroupAdd is the container's --group-add, as InitConfig's.
	GroupAdd []string `json:"groupAdd,omitempty"`
	// Seccomp is the container's filter (its config.json's, compiled):
	// an exec'd process must not be the way around it. It travels as
	// msgSeccomp.
	Seccomp *seccomp.Program `json:"-"`
}

// filtered is a config that may carry a seccomp filter (msgSeccomp).
type filtered interface {
	filter() **seccomp.Program
}

func (c *InitConfig) filter() **seccomp.Program { return &c.Seccomp }
func (c *ExecConfig) filter() **seccomp.Program { return &c.Seccomp }

// InitResult is msgError's payload: why the child cannot exec the user's
// process.
type InitResult struct {
	// Code is docker's: 125 setup failed, 126 cannot execute, 127 not found.
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}
