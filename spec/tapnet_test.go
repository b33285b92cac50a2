package spec

import (
	"strings"
	"testing"
)

func TestParseTapnet(t *testing.T) {
	for _, tc := range []struct {
		mode     string
		loopback bool
		err      string
	}{
		{"tapnet", false, ""},
		{"tapnet:allow_host_loopback=true", true, ""},
		{"tapnet:allow_host_loopback=false", false, ""},
		{"tapnet:allow_host_loopback=yes", false, `unknown option "allow_host_loopback=yes"`},
		{"tapnet:mtu=1500", false, `unknown option "mtu=1500"`},
	} {
		o, err := ParseTapnet(tc.mode)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.mode, err, tc.err)
			}
			continue
		}
		if err != nil || o.AllowHostLoopback != tc.loopback {
			t.Errorf("%s: %+v %v, want loopback %v", tc.mode, o, err, tc.loopback)
		}
	}
	for mode, want := range map[string]bool{"tapnet": true, "tapnet:x=y": true, "tapnetwork": false, "bridge": false} {
		if IsTapnet(mode) != want {
			t.Errorf("IsTapnet(%q) = %v, want %v", mode, !want, want)
		}
	}
	if IsUserNetwork("tapnet:allow_host_loopback=true") || UsesInternalResolver("tapnet") {
		t.Error("tapnet taken for a user network")
	}
}

// A tapnet container asks the stack's forwarder unless --dns says
// otherwise; its hosts file has its address, and the host's names on the
// gateway only when the host's loopback is allowed.
func TestTapnetFiles(t *testing.T) {
	host := []byte("nameserver 127.0.0.53\nsearch lan\noptions edns0\n")
	if got, want := TapnetResolvConf(host, Options{}), "nameserver 10.0.2.3\nsearch lan\noptions edns0\n"; got != want {
		t.Errorf("resolv.conf %q, want %q", got, want)
	}
	if got := TapnetResolvConf(host, Options{DNS: []string{"192.0.2.53"}}); !strings.HasPrefix(got, "nameserver 192.0.2.53\n") {
		t.Errorf("--dns: resolv.conf %q", got)
	}
	plain := TapnetHostsFile("c1", Options{ExtraHosts: []string{"gw:host-gateway"}}, false)
	if !strings.Contains(plain, "10.0.2.100\tc1\n") || !strings.Contains(plain, "10.0.2.2\tgw\n") || strings.Contains(plain, "host.docker.internal") {
		t.Errorf("hosts without host loopback:\n%s", plain)
	}
	allowed := TapnetHostsFile("c1", Options{}, true)
	for _, n := range TapnetHosts {
		if !strings.Contains(allowed, "10.0.2.2\t"+n+"\n") {
			t.Errorf("hosts with host loopback lacks %s:\n%s", n, allowed)
		}
	}
}
