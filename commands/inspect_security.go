package commands

import "github.com/skiff-dev/skiff/state"

// ulimit is docker's HostConfig.Ulimits entry (its field order).
type ulimit struct {
	Name string
	Hard int64
	Soft int64
}

// setSecurity fills HostConfig's privilege and namespace fields from the
// record's Host.Security as docker shows them: the flags as typed, the
// IPC mode "private" and /dev/shm 64 MiB where none was given, and no
// masked or read-only paths for a privileged container.
func setSecurity(h *hostConfig, s state.SecurityFlags) {
	h.CapAdd, h.CapDrop, h.Privileged, h.GroupAdd = s.CapAdd, s.CapDrop, s.Privileged, s.GroupAdd
	h.Sysctls = s.Sysctls
	h.PidMode, h.UTSMode, h.UsernsMode = s.PidMode, s.UTSMode, s.UsernsMode
	if s.IpcMode != "" {
		h.IpcMode = s.IpcMode
	}
	if s.ShmSize > 0 {
		h.ShmSize = s.ShmSize
	}
	h.Ulimits = make([]any, len(s.Ulimits))
	for i, l := range s.Ulimits {
		h.Ulimits[i] = ulimit{Name: l.Name, Hard: l.Hard, Soft: l.Soft}
	}
	if s.Privileged {
		h.MaskedPaths, h.ReadonlyPaths = nil, nil
	}
}
