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
	"regexp"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// The `network` group: docker's predefined networks bridge, host and
// none. User networks (create, rm, connect, disconnect) come with a
// later issue.
func init() { register(networkGroupCommand) }

func networkGroupCommand() *cli.Command {
	later := func(name, usage string) *cli.Command {
		return &cli.Command{Name: name, Usage: usage, SkipFlagParsing: true, Action: func(*cli.Context) error {
			return &ExitError{Code: 1, Err: fmt.Errorf("network %s is not supported yet (user networks come with a later issue)", name)}
		}}
	}
	return &cli.Command{
		Name:  "network",
		Usage: "manage networks",
		Subcommands: []*cli.Command{
			later("connect", "connect a container to a network (not supported yet)"),
			later("create", "create a network (not supported yet)"),
			later("disconnect", "disconnect a container from a network (not supported yet)"),
			networkInspectCommand(),
			networkLsCommand(),
			later("prune", "remove all unused networks (not supported yet)"),
			later("rm", "remove one or more networks (not supported yet)"),
		},
	}
}

// predefinedNetwork is one of docker's networks that always exist.
type predefinedNetwork struct{ Name, Driver string }

// predefinedNetworks are docker's, in `network ls` order (by name).
var predefinedNetworks = []predefinedNetwork{
	{spec.NetworkBridge, "bridge"}, {spec.NetworkHost, "host"}, {spec.NetworkNone, "null"},
}

// networkID is a predefined network's id: stable across reboots and
// machines (docker's are random per daemon), the sha256 of its name.
func networkID(name string) string {
	sum := sha256.Sum256([]byte("skiff network " + name))
	return hex.EncodeToString(sum[:])
}

// containerNetwork is the network a container is in, by its record:
// "bridge", "host" or "none" (records older than networking: none); ""
// for one that joined another container's namespace, which docker lists
// in no network.
func containerNetwork(ct *state.Container) string {
	switch m := ct.Host.NetworkMode; {
	case m == "":
		return spec.NetworkNone
	case strings.HasPrefix(m, spec.NetworkContainerPrefix):
		return ""
	default:
		return m
	}
}

func networkLsCommand() *cli.Command {
	return &cli.Command{
		Name:    "ls",
		Aliases: []string{"list"},
		Usage:   "list networks",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display network IDs"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "do not truncate the output"},
			&cli.StringFlag{Name: "format", Usage: "'json', 'table' or a Go template: .ID .Name .Driver .Scope .IPv4 .IPv6 .Internal .Labels .Label \"KEY\" .CreatedAt"},
		}, listFlag("filter", []string{"f"}, "filter output: driver=, id=, label=, name=, scope=, type=builtin|custom")...),
		Action: networkLsAction,
	}
}

// networkRow is one line of `network ls`, docker's field names in
// alphabetical order, so its JSON has docker's key order.
type networkRow struct {
	CreatedAt, Driver, ID, IPv4, IPv6, Internal, Labels, Name, Scope string
}

// Label is docker's {{.Label "key"}}: predefined networks have none.
func (networkRow) Label(string) string { return "" }

var networkHeader = networkRow{CreatedAt: "CREATED AT", Driver: "DRIVER", ID: "NETWORK ID", IPv4: "IPV4",
	IPv6: "IPV6", Internal: "INTERNAL", Labels: "LABELS", Name: "NAME", Scope: "SCOPE"}

func networkLsAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return &ExitError{Code: 1, Err: errors.New(`"network ls" accepts no arguments: skiff network ls [OPTIONS]`)}
	}
	match, err := networkFilter(listOf(c, "filter"))
	if err != nil {
		return &ExitError{Code: 1, Err: daemonError(err)}
	}
	if _, err := globals(c); err != nil {
		return err
	}
	var rows []networkRow
	for _, n := range predefinedNetworks {
		if !match(n) {
			continue
		}
		id := networkID(n.Name)
		if !c.Bool("no-trunc") {
			id = id[:12]
		}
		rows = append(rows, networkRow{CreatedAt: dockerTime(time.Time{}), Driver: n.Driver, ID: id,
			IPv4: "true", IPv6: "false", Internal: "false", Name: n.Name, Scope: "local"})
	}
	format := c.String("format")
	switch {
	case c.Bool("quiet"):
		format = "{{.ID}}"
	case format == "json":
		format = "{{json .}}"
	case format == "" || format == "table":
		format = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
	}
	return printRows(os.Stdout, format, networkHeader, rows)
}

// networkFilter is docker's `network ls --filter`: values of one key are
// alternatives, keys must all match; name= is a regular expression, id= a
// prefix, type=custom matches no predefined network.
func networkFilter(args []string) (func(predefinedNetwork) bool, error) {
	f := map[string][]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value)")
		}
		switch k {
		case "driver", "id", "label", "scope", "dangling":
		case "name":
			if _, err := regexp.Compile(v); err != nil {
				return nil, fmt.Errorf("invalid filter 'name=%s': %w", v, err)
			}
		case "type":
			if v != "builtin" && v != "custom" {
				return nil, fmt.Errorf("invalid filter: 'type'='%s'", v)
			}
		default:
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		f[k] = append(f[k], v)
	}
	one := func(k, v string, n predefinedNetwork) bool {
		switch k {
		case "driver":
			return n.Driver == v
		case "id":
			return strings.HasPrefix(networkID(n.Name), v)
		case "name":
			return regexp.MustCompile(v).MatchString(n.Name)
		case "scope":
			return v == "local"
		case "type":
			return v == "builtin"
		case "dangling":
			return v == "false" || v == "0" // predefined networks are never dangling
		}
		return false // label: predefined networks have none
	}
	return func(n predefinedNetwork) bool {
		for k, vals := range f {
			ok := false
			for _, v := range vals {
				ok = ok || one(k, v, n)
			}
			if !ok {
				return false
			}
		}
		return true
	}, nil
}

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

type networkIPAMConfig struct {
	Subnet  string
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
			n, ok := findNetwork(ref)
			if !ok {
				return nil, daemonError(fmt.Errorf("network %s not found", ref)), nil
			}
			return networkInspectDoc(g, n), nil, nil
		})
}

// findNetwork is a predefined network by name, id or id prefix.
func findNetwork(ref string) (predefinedNetwork, bool) {
	for _, n := range predefinedNetworks {
		if ref == n.Name || ref != "" && strings.HasPrefix(networkID(n.Name), ref) {
			return n, true
		}
	}
	return predefinedNetwork{}, false
}

func networkInspectDoc(g *Globals, n predefinedNetwork) networkDoc {
	d := networkDoc{
		Name: n.Name, Id: networkID(n.Name), Created: dockerTime(time.Time{}), Scope: "local", Driver: n.Driver,
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

// endpointID is a running container's endpoint on its network: stable
// while it runs (its veth's name names the attachment), as docker's
// EndpointID is for one start.
func endpointID(ct *state.Container) string {
	if ct.Network == nil {
		return ""
	}
	sum := sha256.Sum256([]byte("skiff endpoint " + ct.ID + " " + ct.Network.HostVeth + " " + ct.StartedAt.String()))
	return hex.EncodeToString(sum[:])
}
