package container

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// testUserNetwork records network name in s (a record only: no device).
func testUserNetwork(t *testing.T, s Store, name, subnet string) *network.UserNetwork {
	t.Helper()
	n, err := s.UserNetworks().Create(network.CreateOptions{Name: name, Subnet: subnet})
	if err != nil {
		t.Fatalf("create network %s: %v", name, err)
	}
	return n
}

func TestRecordUserNetworks(t *testing.T) {
	s := Store{Root: t.TempDir(), RunRoot: t.TempDir()}
	front := testUserNetwork(t, s, "front", "10.99.1.0/24")
	back := testUserNetwork(t, s, "back", "10.99.2.0/24")
	for _, tc := range []struct {
		name     string
		o        spec.Options
		mode     string
		networks []string
		eps      []state.EndpointConfig
		err      string
	}{
		{name: "bridge only", o: spec.Options{Network: spec.NetworkBridge}, mode: "bridge", networks: []string{"bridge"}},
		{name: "one user network", o: spec.Options{Network: "front", NetworkAliases: []string{"web"}, IP: "10.99.1.9"},
			mode: "front", networks: []string{"front"},
			eps: []state.EndpointConfig{{NetworkID: front.ID, NetworkName: "front", Aliases: []string{"web"}, IPv4Address: "10.99.1.9"}}},
		{name: "by id prefix, then another", o: spec.Options{Network: front.ID[:10], ExtraNetworks: []string{"back", "front"}},
			mode: "front", networks: []string{"front", "back"},
			eps: []state.EndpointConfig{{NetworkID: front.ID, NetworkName: "front"}, {NetworkID: back.ID, NetworkName: "back"}}},
		{name: "bridge then a user network", o: spec.Options{Network: spec.NetworkBridge, ExtraNetworks: []string{"back"}},
			mode: "bridge", networks: []string{"bridge", "back"},
			eps: []state.EndpointConfig{{NetworkID: back.ID, NetworkName: "back"}}},
		{name: "unknown", o: spec.Options{Network: "nope"}, err: "network nope not found"},
		{name: "ip outside", o: spec.Options{Network: "front", IP: "10.99.2.5"}, err: "does not belong to any of this network's subnets"},
		{name: "ip the gateway", o: spec.Options{Network: "front", IP: "10.99.1.1"}, err: "Address already in use"},
		{name: "ip not v4", o: spec.Options{Network: "front", IP: "fe80::1"}, err: "invalid IPv4 address: fe80::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h state.Host
			err := s.recordNetwork(&h, v1.Config{}, &tc.o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.NetworkMode != tc.mode || strings.Join(h.Networks, ",") != strings.Join(tc.networks, ",") {
				t.Errorf("mode %q networks %q, want %q %q", h.NetworkMode, h.Networks, tc.mode, tc.networks)
			}
			if len(h.Endpoints) != len(tc.eps) {
				t.Fatalf("endpoints %+v, want %+v", h.Endpoints, tc.eps)
			}
			for i, e := range h.Endpoints {
				w := tc.eps[i]
				if e.NetworkID != w.NetworkID || e.NetworkName != w.NetworkName || e.IPv4Address != w.IPv4Address ||
					strings.Join(e.Aliases, ",") != strings.Join(w.Aliases, ",") {
					t.Errorf("endpoint %d = %+v, want %+v", i, e, w)
				}
			}
		})
	}
}

func TestCheckConnectable(t *testing.T) {
	n := &network.UserNetwork{ID: strings.Repeat("a", 64), Name: "front"}
	for _, tc := range []struct {
		mode string
		eps  []state.EndpointConfig
		err  string
	}{
		{mode: "bridge"},
		{mode: "back"},
		{mode: "host", err: "connected to host network"},
		{mode: "container:" + strings.Repeat("b", 64), err: "sharing network namespace"},
		{mode: "none", err: "private (none) mode"},
		{mode: "front", eps: []state.EndpointConfig{{NetworkID: n.ID}}, err: "endpoint with name web already exists in network front"},
	} {
		rec := &state.Container{Name: "web", Host: state.Host{NetworkMode: tc.mode, Endpoints: tc.eps}}
		err := checkConnectable(rec, n)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("mode %s: err = %v, want %q", tc.mode, err, tc.err)
		}
	}
}
