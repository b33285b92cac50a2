package commands

import (
	"reflect"
	"testing"

	"github.com/skiff-dev/skiff/state"
)

// TestRunSecurityFlags: the privilege and namespace flags as docker's CLI
// and daemon read and refuse them.
func TestRunSecurityFlags(t *testing.T) {
	tests := []struct {
		args []string
		want state.SecurityFlags
		err  string
	}{
		{args: []string{"--cap-add", "net_admin", "--cap-add", "CAP_SYS_TIME", "--cap-drop", "ALL"},
			want: state.SecurityFlags{CapAdd: []string{"net_admin", "CAP_SYS_TIME"}, CapDrop: []string{"ALL"}}},
		{args: []string{"--cap-add", "foo"}, err: `invalid CapAdd: unknown capability: "CAP_FOO"`},
		{args: []string{"--cap-drop", "CAP_ALL"}, err: `invalid CapDrop: unknown capability: "CAP_ALL"`},
		{args: []string{"--group-add", "audio", "--group-add", "1234"}, want: state.SecurityFlags{GroupAdd: []string{"audio", "1234"}}},
		{args: []string{"--ulimit", "nproc=10:20", "--ulimit", "core=0"},
			want: state.SecurityFlags{Ulimits: []state.Ulimit{{Name: "core", Soft: 0, Hard: 0}, {Name: "nproc", Soft: 10, Hard: 20}}}},
		{args: []string{"--ulimit", "nofile"}, err: `invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile`},
		{args: []string{"--ulimit", "bogus=1"}, err: `invalid argument "bogus=1" for "--ulimit" flag: invalid ulimit type: bogus`},
		{args: []string{"--ulimit", "nofile=20:10"}, err: `invalid argument "nofile=20:10" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: 20 > 10`},
		{args: []string{"--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=4096"},
			want: state.SecurityFlags{Sysctls: map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "4096"}}},
		{args: []string{"--sysctl", "kernel.panic=1"}, err: `invalid argument "kernel.panic=1" for "--sysctl" flag: sysctl 'kernel.panic=1' is not allowed`},
		{args: []string{"--shm-size", "1m"}, want: state.SecurityFlags{ShmSize: 1 << 20}},
		{args: []string{"--shm-size", "lots"}, err: `invalid argument "lots" for "--shm-size" flag: invalid size: 'lots'`},
		{args: []string{"--pid", "host", "--ipc", "shareable", "--uts", "host", "--userns", "host"},
			want: state.SecurityFlags{PidMode: "host", IpcMode: "shareable", UTSMode: "host", UsernsMode: "host"}},
		{args: []string{"--pid", "container:web", "--ipc", "container:db"}, want: state.SecurityFlags{PidMode: "container:web", IpcMode: "container:db"}},
		{args: []string{"--pid", "nope"}, err: "--pid: invalid PID mode"},
		{args: []string{"--pid", "container:"}, err: "--pid: invalid PID mode"},
		{args: []string{"--uts", "private"}, err: "--uts: invalid UTS mode"},
		{args: []string{"--ipc", "bogus"}, err: "invalid IPC mode: bogus"},
		{args: []string{"--userns", "private"}, err: "--userns private is not supported yet (only --userns host)"},
		{args: []string{"--userns", "x"}, err: "--userns x is not supported yet (only --userns host)"},
		{args: []string{"--uts", "host", "-h", "web"}, err: "conflicting options: hostname and the UTS mode"},
	}
	for _, tt := range tests {
		o, err := parseRun(t, append(tt.args, "busybox")...)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%v: err %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(o.Host.Security, tt.want) {
			t.Errorf("%v: %+v, want %+v", tt.args, o.Host.Security, tt.want)
		}
	}
}
