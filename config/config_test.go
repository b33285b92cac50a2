package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadFileNetwork(t *testing.T) {
	tests := []struct {
		json    string
		bip     string
		pools   []ParsedPool
		wantErr string
	}{
		{`{}`, "", nil, ""},
		{`{"bip": "172.30.0.1/16"}`, "172.30.0.1/16", nil, ""},
		{`{"default-address-pools": [{"base": "10.10.0.0/16", "size": 24}]}`, "",
			[]ParsedPool{{Base: netip.MustParsePrefix("10.10.0.0/16"), Size: 24}}, ""},
		{`{"default-address-pools": [{"base": "10.10.1.7/16", "size": 16}]}`, "",
			[]ParsedPool{{Base: netip.MustParsePrefix("10.10.0.0/16"), Size: 16}}, ""},
		{`{"bip": "172.30.0.1"}`, "", nil, `"bip" "172.30.0.1": want the bridge's IPv4 address and prefix length, as "172.17.0.1/16"`},
		{`{"bip": "fd00::1/64"}`, "", nil, `"bip" "fd00::1/64": want the bridge's IPv4 address and prefix length`},
		{`{"bip": "172.30.0.0/16"}`, "", nil, `"bip" "172.30.0.0/16": the bridge needs a host address, not the network's own (as "172.30.0.1/16")`},
		{`{"bip": "172.30.0.1/31"}`, "", nil, `the prefix /31 leaves no address for a container`},
		{`{"default-address-pools": [{"base": "10.10.0.0", "size": 24}]}`, "", nil, `"default-address-pools": base "10.10.0.0": want an IPv4 subnet`},
		{`{"default-address-pools": [{"base": "10.10.0.0/16", "size": 8}]}`, "", nil, `"default-address-pools": size 8 for base 10.10.0.0/16: want a prefix length from 16 to 30`},
		{`{"default-address-pools": [{"base": "10.10.0.0/16", "size": 31}]}`, "", nil, `size 31`},
		{`{"dns": ["10.200.0.2", "fd00::53"], "dns-search": ["example.com"], "dns-opts": ["ndots:2"]}`, "", nil, ""},
		{`{"dns": ["resolver.example"]}`, "", nil, `"dns": "resolver.example" is not an IP address`},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		path := filepath.Join(dir, "c.json")
		if err := os.WriteFile(path, []byte(tt.json), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := LoadFile(path)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("%d: LoadFile(%s) err = %v; want %q naming the file", i, tt.json, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%d: LoadFile(%s): %v", i, tt.json, err)
			continue
		}
		var wantBIP netip.Prefix
		if tt.bip != "" {
			wantBIP = netip.MustParsePrefix(tt.bip)
		}
		if f.BridgeIP() != wantBIP || !reflect.DeepEqual(f.Pools(), tt.pools) {
			t.Errorf("%d: LoadFile(%s) = bip %v pools %v; want %v %v", i, tt.json, f.BridgeIP(), f.Pools(), wantBIP, tt.pools)
		}
	}
}

// Root's paths are fixed; a rootless skiff's follow XDG, with the
// per-user /tmp fallback when there is no runtime dir (su, runuser), and
// the uid given (inside its namespace the process's own uid is 0).
func TestDefaultPaths(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	for _, tc := range []struct {
		data, runtime string
		rootless      bool
		want          Paths
	}{
		{"", "", false, Paths{Root: "/var/lib/skiff", RunRoot: "/run/skiff"}},
		{"/d", "/run/user/1000", true, Paths{Root: "/d/skiff", RunRoot: "/run/user/1000/skiff"}},
		{"", "", true, Paths{Root: "/home/u/.local/share/skiff", RunRoot: filepath.Join(os.TempDir(), "skiff-run-1000", "skiff")}},
	} {
		t.Setenv("XDG_DATA_HOME", tc.data)
		t.Setenv("XDG_RUNTIME_DIR", tc.runtime)
		if got := DefaultPaths(tc.rootless, 1000); got != tc.want {
			t.Errorf("data %q runtime %q rootless %v: %+v, want %+v", tc.data, tc.runtime, tc.rootless, got, tc.want)
		}
	}
}
