package commands

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

func networkInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "display detailed information on one or more networks",
		ArgsUsage: "NETWORK [NETWORK...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "Go template, e.g. '{{.IPAM.Config}}'"},
		},
		Action: networkInspectAction,
	}
}

// networkDoc is docker's `network inspect` document.
type networkDoc struct {
	Name       string
	Id         string
	Created    string
	Scope      string
	Driver     string
	EnableIPv4 bool
	EnableIPv6 bool
	IPAM       networkIPAM
	Internal   bool
	Attachable bool
	Ingress    bool
	ConfigFrom struct{ Network string }
	ConfigOnly bool
	Containers map[string]networkEndpoint
	Options    map[string]string
	Labels     map[string]string
}

type networkIPAM struct {
	Driver  string
	Options map[string]string
	Config  []networkIPAMConfig
}

// networkIPAMConfig is docker's IPAMConfig, its keys in its order.
type networkIPAMConfig struct {
	Subnet  string
	IPRange string `json:",omitempty"`
	Gateway string `json:",omitempty"`
}

// networkEndpoint is a running container in `network inspect`.
type networkEndpoint struct {
	Name        string
	EndpointID  string
	MacAddress  string
	IPv4Address string
	IPv6Address string
}

func networkInspectAction(c *cli.Context) error {
	return inspectEach(c, `"network inspect" requires at least 1 argument: skiff network inspect [OPTIONS] NETWORK [NETWORK...]`,
		func(g *Globals, ref string) (any, error, error) {
			n, err := findNetwork(g, ref)
			if nf := (*network.NotFoundError)(nil); errors.As(err, &nf) {
				return nil, daemonError(err), nil
			} else if err != nil {
				return nil, nil, daemonError(err)
			}
			if n.user != nil {
				d, err := userNetworkDoc(g, n.user)
				return d, nil, err
			}
			return networkInspectDoc(g, n), nil, nil
		})
}

// networkInspectDoc is a predefined network's document.
func networkInspectDoc(g *Globals, n anyNetwork) networkDoc {
	d := networkDoc{
		Name: n.Name, Id: n.ID, Created: dockerTime(time.Time{}), Scope: "local", Driver: n.Driver,
		EnableIPv4: true, IPAM: networkIPAM{Driver: "default", Config: []networkIPAMConfig{}},
		Containers: map[string]networkEndpoint{}, Options: map[string]string{}, Labels: map[string]string{},
	}
	if n.Name != spec.NetworkBridge {
		return d
	}
	d.Options = map[string]string{
		"com.docker.network.bridge.default_bridge":       "true",
		"com.docker.network.bridge.enable_icc":           "true",
		"com.docker.network.bridge.enable_ip_masquerade": "true",
		"com.docker.network.bridge.host_binding_ipv4":    "0.0.0.0",
		"com.docker.network.bridge.name":                 network.BridgeInterface,
	}
	if subnet, gw, created, ok := bridgeAddress(g.Bridge); ok {
		d.IPAM.Config = append(d.IPAM.Config, networkIPAMConfig{Subnet: subnet.String(), Gateway: gw.String()})
		d.Created = dockerTime(created)
	}
	cs, _ := g.Containers().List()
	for _, ct := range cs {
		if s := ct.Network; s != nil && ct.Status.Up() && s.Network == n.Name {
			d.Containers[ct.ID] = networkEndpoint{Name: ct.Name, EndpointID: endpointID(ct), MacAddress: s.MacAddress,
				IPv4Address: fmt.Sprintf("%s/%d", s.IPAddress, s.IPPrefixLen)}
		}
	}
	return d
}

// userNetworkDoc is a user network's document: its record, and its
// members (the running containers on it) as Containers.
func userNetworkDoc(g *Globals, n *network.UserNetwork) (networkDoc, error) {
	ipam := networkIPAMConfig{Subnet: n.Subnet.String(), Gateway: n.Gateway.String()}
	if n.IPRange.IsValid() {
		ipam.IPRange = n.IPRange.String()
	}
	d := networkDoc{
		Name: n.Name, Id: n.ID, Created: dockerTime(n.Created), Scope: "local", Driver: n.Driver, EnableIPv4: true,
		IPAM:     networkIPAM{Driver: "default", Options: map[string]string{}, Config: []networkIPAMConfig{ipam}},
		Internal: n.Internal, Containers: map[string]networkEndpoint{}, Options: orEmptyMap(n.Options), Labels: orEmptyMap(n.Labels),
	}
	members, err := g.userNetworks().Members(n.ID)
	if err != nil {
		return d, err
	}
	for _, m := range members {
		d.Containers[m.ContainerID] = networkEndpoint{Name: m.Name, EndpointID: m.EndpointID, MacAddress: m.MAC,
			IPv4Address: netip.PrefixFrom(m.Addr, n.Subnet.Bits()).String()}
	}
	return d, nil
}

// orEmptyMap is m, or {} where docker's JSON has an empty map.
func orEmptyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// bridgeAddress is the default bridge's subnet and gateway: skiff0's
// address when the bridge exists (since when: its saved settings' time),
// else the config file's bip; !ok when neither says.
func bridgeAddress(cfg network.Config) (subnet netip.Prefix, gw netip.Addr, created time.Time, ok bool) {
	if ifc, err := net.InterfaceByName(network.BridgeInterface); err == nil {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
				if fi, err := os.Stat(filepath.Join(cfg.RunDir, "bridge.json")); err == nil {
					created = fi.ModTime()
				}
				return p.Masked(), p.Addr(), created, true
			}
		}
	}
	if cfg.BIP.IsValid() {
		return cfg.BIP.Masked(), cfg.BIP.Addr(), created, true
	}
	return subnet, gw, created, false
}

// endpointID is a running container's endpoint on the default bridge:
// stable while it runs (its veth's name names the attachment), as
// docker's EndpointID is for one start.
func endpointID(ct *state.Container) string {
	if ct.Network == nil {
		return ""
	}
	sum := sha256.Sum256([]byte("skiff endpoint " + ct.ID + " " + ct.Network.HostVeth + " " + ct.StartedAt.String()))
	return hex.EncodeToString(sum[:])
}
