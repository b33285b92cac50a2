package network

// User networks (`skiff network create`), the records only: what docker
// keeps of a network, stored per network as <root>/networks/<id>.json
// (they outlive reboots, as docker's do), each written whole by a rename
// and changed only under the flock of <root>/networks/networks.lock. A
// record present is a network complete: Create's last step is the rename,
// Remove's first the unlink, so a kill -9 at any point leaves a network
// either fully there or not visible at all (a temporary file at most,
// ignored by readers and deleted by the next locked command).
//
// What changes while containers run (membership, addresses) is under
// <runroot>/networks/user/<id>/ (usernetmembers_linux.go): it dies with a
// reboot, as the containers do. Create's checks are in
// usernetcreate_linux.go. No bridge, veth or rule is made here.

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Docker's option keys of a bridge network (`-o`), and skiff's short form
// of the MTU's (`--opt mtu=1400`, as the issue names it).
const (
	OptBridgeName = "com.docker.network.bridge.name"
	OptMTU        = "com.docker.network.driver.mtu"
	optMTUShort   = "mtu"
	DriverBridge  = "bridge"
)

// UserNetwork is one user network's record.
type UserNetwork struct {
	Name    string       `json:"name"`
	ID      string       `json:"id"` // 64 hex, as docker's
	Created time.Time    `json:"created"`
	Driver  string       `json:"driver"` // "bridge", the only one
	Subnet  netip.Prefix `json:"subnet"`
	Gateway netip.Addr   `json:"gateway"`
	IPRange netip.Prefix `json:"ipRange,omitzero"` // zero: the whole subnet
	// SubnetConfigured: --subnet was given. Docker takes --ip only on such
	// networks (a chosen pool may differ after a restart).
	SubnetConfigured bool              `json:"subnetConfigured"`
	Internal         bool              `json:"internal"`
	Labels           map[string]string `json:"labels,omitempty"`
	Options          map[string]string `json:"options,omitempty"` // as given, docker's inspect shows them so
	Bridge           string            `json:"bridge"`            // the device: OptBridgeName, else "br-" + ID[:12]
	MTU              int               `json:"mtu,omitempty"`     // OptMTU; 0: the host's default route's
}

// CreateOptions are `network create`'s flags, as strings the way the CLI
// has them: Create parses and validates them with docker's errors.
type CreateOptions struct {
	Name     string
	Driver   string // "": bridge
	Subnet   string // "": chosen from the pools
	Gateway  string // "": the subnet's first address
	IPRange  string
	Internal bool
	Labels   map[string]string
	Options  map[string]string
}

// UserNetworks is the store of user networks of one root and run root.
type UserNetworks struct {
	Dir    string // <root>/networks: the records
	RunDir string // <runroot>/networks (Config.RunDir): bridge.json, members, addresses
	Pools  []Pool // nil: DefaultPools
	BIP    netip.Prefix
	// routes lists the host's routes (hostRoutes) and skiff0 reads the
	// default bridge device's address (bridgeAddr): tests replace both.
	routes func() ([]netip.Prefix, error)
	skiff0 func() netip.Prefix
}

// NewUserNetworks is the store under root and runRoot with cfg's pools
// and bip (the default bridge's, which user networks avoid).
func NewUserNetworks(root string, cfg Config) *UserNetworks {
	return &UserNetworks{Dir: filepath.Join(root, "networks"), RunDir: cfg.RunDir, Pools: cfg.Pools, BIP: cfg.BIP,
		routes: hostRoutes, skiff0: bridgeAddr}
}

const (
	networksLock  = "networks.lock"
	recordSuffix  = ".json"
	userRunSubdir = "user"
)

// predefinedNetworks are docker's (runconfig.IsPreDefinedNetwork).
var predefinedNetworks = []string{"bridge", "host", "none", "default"}

// IsPredefined says whether name is one of docker's own networks, which
// no user network may be named and `network rm` refuses ("%s is a
// pre-defined network and cannot be removed", the CLI's to say).
func IsPredefined(name string) bool { return slices.Contains(predefinedNetworks, name) }

// ErrPoolOverlap is docker's IPAM error for a subnet another network has.
var ErrPoolOverlap = errors.New("invalid pool request: Pool overlaps with other one on this address space")

// ErrNoFreePool is docker's: no pool subnet left that nothing overlaps.
var ErrNoFreePool = errors.New("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")

// NotFoundError is a network no name or id prefix names.
type NotFoundError struct{ Ref string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("network %s not found", e.Ref) }

// InUseError is Remove of a network with members.
type InUseError struct{ Name, ID string }

func (e *InUseError) Error() string {
	return fmt.Sprintf("error while removing network: network %s id %s has active endpoints", e.Name, e.ID)
}

// Create validates o as docker does and records the network; the subnet
// is o.Subnet or the first pool subnet that overlaps no network (the
// default bridge's included) and no host route.
func (s *UserNetworks) Create(o CreateOptions) (*UserNetwork, error) {
	n, err := parseCreate(o)
	if err != nil {
		return nil, err
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	existing, err := s.list()
	if err != nil {
		return nil, err
	}
	if err := checkUnique(n, existing); err != nil {
		return nil, err
	}
	if err := s.placeSubnet(n, existing); err != nil {
		return nil, err
	}
	if n.ID, err = s.newID(existing); err != nil {
		return nil, err
	}
	if n.Bridge == "" {
		n.Bridge = "br-" + n.ID[:12]
	}
	n.Created = time.Now().UTC()
	b, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(s.recordPath(n.ID), b); err != nil {
		return nil, fmt.Errorf("create network %s: %w", n.Name, err)
	}
	return n, nil
}

// List is every user network, by name.
func (s *UserNetworks) List() ([]*UserNetwork, error) { return s.list() }

func (s *UserNetworks) list() ([]*UserNetwork, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read networks: %w", err)
	}
	var nets []*UserNetwork
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), recordSuffix)
		if !ok || !isNetworkID(id) {
			continue // the lock, a temporary file
		}
		n, err := s.read(id)
		if errors.Is(err, os.ErrNotExist) {
			continue // removed meanwhile
		} else if err != nil {
			return nil, err
		}
		nets = append(nets, n)
	}
	slices.SortFunc(nets, func(a, b *UserNetwork) int { return strings.Compare(a.Name, b.Name) })
	return nets, nil
}

func (s *UserNetworks) read(id string) (*UserNetwork, error) {
	b, err := os.ReadFile(s.recordPath(id))
	if err != nil {
		return nil, err
	}
	var n UserNetwork
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("read network %s: %w", id, err)
	}
	return &n, nil
}

func isNetworkID(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// Lookup finds ref as docker's daemon does: a full id, then a name, then
// an id prefix, which must be unique.
func (s *UserNetworks) Lookup(ref string) (*UserNetwork, error) {
	nets, err := s.list()
	if err != nil {
		return nil, err
	}
	return lookupIn(nets, ref)
}

func lookupIn(nets []*UserNetwork, ref string) (*UserNetwork, error) {
	var byName, byPrefix []*UserNetwork
	for _, n := range nets {
		if n.ID == ref {
			return n, nil
		}
		if n.Name == ref {
			byName = append(byName, n)
		}
		if ref != "" && strings.HasPrefix(n.ID, ref) {
			byPrefix = append(byPrefix, n)
		}
	}
	switch {
	case len(byName) == 1:
		return byName[0], nil
	case len(byName) > 1:
		return nil, fmt.Errorf("network %s is ambiguous (%d matches found on name)", ref, len(byName))
	case len(byPrefix) == 1:
		return byPrefix[0], nil
	case len(byPrefix) > 1:
		return nil, fmt.Errorf("network %s is ambiguous (%d matches found based on ID prefix)", ref, len(byPrefix))
	}
	return nil, &NotFoundError{Ref: ref}
}

// Remove deletes the network ref names, refused while it has members
// (sweep dead ones first: SweepMembers). The record goes first, so a
// kill after it leaves only run-time leftovers, which SweepMembers
// deletes.
func (s *UserNetworks) Remove(ref string) (*UserNetwork, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	n, err := s.Lookup(ref)
	if err != nil {
		return nil, err
	}
	return n, s.removeLocked(n)
}

func (s *UserNetworks) removeLocked(n *UserNetwork) error {
	members, err := s.members(n.ID)
	if err != nil {
		return err
	}
	if len(members) > 0 {
		return &InUseError{Name: n.Name, ID: n.ID}
	}
	if err := os.Remove(s.recordPath(n.ID)); err != nil {
		return fmt.Errorf("remove network %s: %w", n.Name, err)
	}
	if err := os.RemoveAll(s.netRunDir(n.ID)); err != nil {
		return fmt.Errorf("remove network %s: %w", n.Name, err)
	}
	return nil
}

// Prune removes every network without members that keep (nil: all)
// accepts, as `docker network prune` (its filters are keep's); it returns
// what it removed.
func (s *UserNetworks) Prune(keep func(*UserNetwork) bool) ([]*UserNetwork, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	nets, err := s.list()
	if err != nil {
		return nil, err
	}
	var removed []*UserNetwork
	var errs []error
	for _, n := range nets {
		if keep != nil && !keep(n) {
			continue
		}
		err := s.removeLocked(n)
		var inUse *InUseError
		switch {
		case errors.As(err, &inUse):
		case err != nil:
			errs = append(errs, err)
		default:
			removed = append(removed, n)
		}
	}
	return removed, errors.Join(errs...)
}

func (s *UserNetworks) recordPath(id string) string { return filepath.Join(s.Dir, id+recordSuffix) }

// lock takes the store's flock and deletes what a killed writer left
// (temporary files: only a holder of the lock writes records).
func (s *UserNetworks) lock() (unlock func(), err error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", s.Dir, err)
	}
	unlock, err = lockFile(filepath.Join(s.Dir, networksLock))
	if err != nil {
		return nil, err
	}
	if tmps, _ := filepath.Glob(filepath.Join(s.Dir, ".*"+recordSuffix+".*")); len(tmps) > 0 {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	return unlock, nil
}
