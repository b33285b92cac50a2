package commands

import (
	"testing"

	"github.com/skiff-dev/skiff/state"
)

func TestParseDevice(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want state.DeviceMapping
	}{
		{"/dev/sda", state.DeviceMapping{PathOnHost: "/dev/sda", PathInContainer: "/dev/sda", CgroupPermissions: "rwm"}},
		{"/dev/sda:/dev/xvdc", state.DeviceMapping{PathOnHost: "/dev/sda", PathInContainer: "/dev/xvdc", CgroupPermissions: "rwm"}},
		{"/dev/sda:r", state.DeviceMapping{PathOnHost: "/dev/sda", PathInContainer: "/dev/sda", CgroupPermissions: "r"}},
		{"/dev/sda:/dev/xvdc:mw", state.DeviceMapping{PathOnHost: "/dev/sda", PathInContainer: "/dev/xvdc", CgroupPermissions: "mw"}},
	} {
		got, err := parseDevice(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, msg string }{
		{"/dev/sda:rr", `invalid argument "/dev/sda:rr" for "--device" flag: rr is not an absolute path`},
		{"/dev/sda:/x:rwx", `invalid argument "/dev/sda:/x:rwx" for "--device" flag: bad mode specified: rwx`},
		{":/x", `invalid argument ":/x" for "--device" flag: bad format for path: :/x`},
		{"/a:/b:r:w", `invalid argument "/a:/b:r:w" for "--device" flag: bad format for path: /a:/b:r:w`},
		{"sda", `invalid argument "sda" for "--device" flag: sda is not an absolute path`},
	} {
		if _, err := parseDevice(tc.in); err == nil || err.Error() != tc.msg {
			t.Errorf("%q: %v, want %s", tc.in, err, tc.msg)
		}
	}
}

func TestDeviceCgroupRuleSyntax(t *testing.T) {
	for _, ok := range []string{"c 1:3 rwm", "b *:* m", "a *:* r", "c 136:* rw"} {
		if !deviceCgroupRule().MatchString(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"c 1:3", "x 1:3 r", "c 1:3 rwmr", "a", "c 1:3  r", "c -1:3 r"} {
		if deviceCgroupRule().MatchString(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
