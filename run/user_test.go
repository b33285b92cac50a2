package run

import (
	"io"
	"reflect"
	"strings"
	"testing"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
# a comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/sh
broken line
nohome:x:1001:1001
`

const testGroup = `root:x:0:
wheel:x:10:root,alice
alice2:x:1000:alice
staff:x:50:alice
alice:x:1000:
ops:x:2000:
`

func TestResolveUser(t *testing.T) {
	tests := []struct {
		spec    string
		noFiles bool
		want    execUser
		wantErr string
	}{
		{spec: "", want: execUser{UID: 0, GID: 0, Groups: []uint32{0, 10}, Home: "/root"}},
		{spec: "root", want: execUser{UID: 0, GID: 0, Groups: []uint32{0, 10}, Home: "/root"}},
		{spec: "alice", want: execUser{UID: 1000, GID: 1000, Groups: []uint32{1000, 10, 50}, Home: "/home/alice"}},
		{spec: "1000", want: execUser{UID: 1000, GID: 1000, Groups: []uint32{1000, 10, 50}, Home: "/home/alice"}},
		{spec: "alice:ops", want: execUser{UID: 1000, GID: 2000, Groups: []uint32{2000}, Home: "/home/alice"}},
		{spec: "alice:50", want: execUser{UID: 1000, GID: 50, Groups: []uint32{50}, Home: "/home/alice"}},
		{spec: "1000:4242", want: execUser{UID: 1000, GID: 4242, Groups: []uint32{4242}, Home: "/home/alice"}},
		{spec: "4242", want: execUser{UID: 4242, GID: 0, Groups: []uint32{0}, Home: "/"}},
		{spec: "4242:4343", want: execUser{UID: 4242, GID: 4343, Groups: []uint32{4343}, Home: "/"}},
		{spec: "nohome", want: execUser{UID: 1001, GID: 1001, Groups: []uint32{1001}, Home: "/"}},
		{spec: "daemon", want: execUser{UID: 1, GID: 1, Groups: []uint32{1}, Home: "/usr/sbin"}},
		{spec: "bob", wantErr: "unable to find user bob: no matching entries in passwd file"},
		{spec: "alice:nogroup", wantErr: "unable to find group nogroup: no matching entries in group file"},
		{spec: "4294967296", wantErr: "unable to find user 4294967296"},
		{spec: "-1", wantErr: "unable to find user -1"},
		{spec: "", noFiles: true, want: execUser{Groups: []uint32{0}, Home: "/"}},
		{spec: "7:8", noFiles: true, want: execUser{UID: 7, GID: 8, Groups: []uint32{8}, Home: "/"}},
		{spec: "alice", noFiles: true, wantErr: "unable to find user alice"},
	}
	for _, tt := range tests {
		t.Run(tt.spec+map[bool]string{true: "/nofiles"}[tt.noFiles], func(t *testing.T) {
			var pw, gr io.Reader = strings.NewReader(testPasswd), strings.NewReader(testGroup)
			if tt.noFiles {
				pw, gr = nil, nil
			}
			got, err := resolveUser(tt.spec, pw, gr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWithHome(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{"added", []string{"PATH=/bin"}, []string{"PATH=/bin", "HOME=/home/a"}},
		{"kept", []string{"HOME=/x", "PATH=/bin"}, []string{"HOME=/x", "PATH=/bin"}},
		{"empty env", nil, []string{"HOME=/home/a"}},
		{"prefix only", []string{"HOMEDIR=/y"}, []string{"HOMEDIR=/y", "HOME=/home/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := withHome(tt.env, "/home/a"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
