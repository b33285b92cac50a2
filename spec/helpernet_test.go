package spec

import "testing"

func TestHelperNetworks(t *testing.T) {
	for _, c := range []struct {
		mode, helper string
		loopback     bool
		err          string
	}{
		{"slirp4netns", "slirp4netns", false, ""},
		{"slirp4netns:allow_host_loopback=true", "slirp4netns", true, ""},
		{"slirp4netns:allow_host_loopback=false", "slirp4netns", false, ""},
		{"slirp4netns:mtu=1500", "slirp4netns", false, `--network slirp4netns:mtu=1500: unknown option "mtu=1500" (slirp4netns knows allow_host_loopback=true|false)`},
		{"slirp4netns:allow_host_loopback=yes", "slirp4netns", false, `--network slirp4netns:allow_host_loopback=yes: unknown option "allow_host_loopback=yes" (slirp4netns knows allow_host_loopback=true|false)`},
		{"pasta", "pasta", false, ""},
		{"pasta:-t,8080", "pasta", false, "--network pasta:-t,8080: skiff passes pasta no options of yours"},
		{"slirp4netnsx", "", false, "--network slirp4netnsx: not a helper's network"},
		{"tapnet", "", false, "--network tapnet: not a helper's network"},
	} {
		if h := HelperNetwork(c.mode); h != c.helper {
			t.Errorf("HelperNetwork(%q) = %q, want %q", c.mode, h, c.helper)
		}
		o, err := ParseHelperNetwork(c.mode)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: err %v, want %q", c.mode, err, c.err)
			}
			continue
		}
		if err != nil || o.AllowHostLoopback != c.loopback {
			t.Errorf("%q: %+v, %v", c.mode, o, err)
		}
	}
	for _, m := range []string{"slirp4netns", "slirp4netns:allow_host_loopback=true", "pasta"} {
		if IsUserNetwork(m) || UsesInternalResolver(m) || !IsUserMode(m) {
			t.Errorf("%q: a user network or its resolver, or not user-mode", m)
		}
	}
}
