package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
)

// Paths says where skiff keeps what survives a reboot (Root: images, layers,
// container records) and what does not (RunRoot: pids, locks, sockets).
type Paths struct {
	Root    string
	RunRoot string
}

// DefaultPaths returns podman's layout: /var/lib/skiff and /run/skiff for root,
// $XDG_DATA_HOME/skiff and $XDG_RUNTIME_DIR/skiff for any other user (uid,
// rootless: inside its user namespace a rootless skiff is uid 0, yet its
// paths are the user's).
func DefaultPaths(rootless bool, uid uint32) Paths {
	if !rootless {
		return Paths{Root: "/var/lib/skiff", RunRoot: "/run/skiff"}
	}
	home, _ := os.UserHomeDir()
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		data = filepath.Join(home, ".local", "share")
	}
	rt := os.Getenv("XDG_RUNTIME_DIR")
	if rt == "" {
		// No session runtime dir (no logind): fall back to a per-user dir in
		// /tmp, as podman does, rather than guessing /run/user/UID exists.
		rt = filepath.Join(os.TempDir(), fmt.Sprintf("skiff-run-%d", uid))
	}
	return Paths{Root: filepath.Join(data, "skiff"), RunRoot: filepath.Join(rt, "skiff")}
}

// File is the JSON config file, a subset of docker's daemon.json.
type File struct {
	InsecureRegistries []string `json:"insecure-registries,omitempty"`
	// BIP is "bip": the default bridge's own address and prefix
	// ("172.17.0.1/16"); "" lets skiff choose from the pools.
	BIP string `json:"bip,omitempty"`
	// DefaultAddressPools is "default-address-pools": where the default
	// bridge's subnet is chosen from; empty: docker's defaults.
	DefaultAddressPools []AddressPool `json:"default-address-pools,omitempty"`
	// DNS, DNSSearch and DNSOpts are "dns", "dns-search" and "dns-opts":
	// the name servers, search domains and resolver options of every
	// container that does not set its own with --dns, --dns-search,
	// --dns-option, as docker's daemon.json keys.
	DNS       []string `json:"dns,omitempty"`
	DNSSearch []string `json:"dns-search,omitempty"`
	DNSOpts   []string `json:"dns-opts,omitempty"`
	// StorageDriver is "storage-driver": how a rootless container's root
	// is mounted, "fuse-overlayfs" or "overlay2" (the kernel's overlay);
	// unset, what the kernel can. Root's is always the kernel's overlay.
	StorageDriver string `json:"storage-driver,omitempty"`
}

// AddressPool is one of "default-address-pools": subnets of Size bits
// carved from Base ({"base": "10.10.0.0/16", "size": 24}).
type AddressPool struct {
	Base string `json:"base"`
	Size int    `json:"size"`
}

// DefaultFilePath is /etc/skiff/config.json for root and
// $XDG_CONFIG_HOME/skiff/config.json for a rootless skiff.
func DefaultFilePath(rootless bool) string {
	if !rootless {
		return "/etc/skiff/config.json"
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "skiff", "config.json")
}

// LoadFile reads the config file at path; a missing file is an empty config.
func LoadFile(path string) (File, error) {
	var f File
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("reading config %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("parsing config %s: %w (fix the JSON or remove the file)", path, err)
	}
	if err := f.checkNetwork(); err != nil {
		return f, fmt.Errorf("config %s: %w", path, err)
	}
	return f, nil
}

// BridgeIP is "bip" parsed (checked by LoadFile); zero when unset.
func (f File) BridgeIP() netip.Prefix {
	p, _ := netip.ParsePrefix(f.BIP)
	return p
}

// Pools are "default-address-pools" parsed (checked by LoadFile).
func (f File) Pools() []ParsedPool {
	var out []ParsedPool
	for _, p := range f.DefaultAddressPools {
		base, _ := netip.ParsePrefix(p.Base)
		out = append(out, ParsedPool{Base: base.Masked(), Size: p.Size})
	}
	return out
}

// ParsedPool is an AddressPool with its base parsed.
type ParsedPool struct {
	Base netip.Prefix
	Size int
}

// checkNetwork refuses a "bip" or "default-address-pools" the bridge
// could not use, in one line naming the key and the value.
func (f File) checkNetwork() error {
	if f.BIP != "" {
		p, err := netip.ParsePrefix(f.BIP)
		switch {
		case err != nil || !p.Addr().Is4():
			return fmt.Errorf(`"bip" %q: want the bridge's IPv4 address and prefix length, as "172.17.0.1/16"`, f.BIP)
		case p.Bits() > 30:
			return fmt.Errorf(`"bip" %q: the prefix /%d leaves no address for a container (at most /30)`, f.BIP, p.Bits())
		case p.Addr() == p.Masked().Addr():
			return fmt.Errorf(`"bip" %q: the bridge needs a host address, not the network's own (as "%s/%d")`, f.BIP, p.Addr().Next(), p.Bits())
		}
	}
	for _, s := range f.DNS {
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Errorf(`"dns": %q is not an IP address`, s)
		}
	}
	for _, pool := range f.DefaultAddressPools {
		base, err := netip.ParsePrefix(pool.Base)
		switch {
		case err != nil || !base.Addr().Is4():
			return fmt.Errorf(`"default-address-pools": base %q: want an IPv4 subnet, as "10.10.0.0/16"`, pool.Base)
		case pool.Size < base.Bits() || pool.Size > 30:
			return fmt.Errorf(`"default-address-pools": size %d for base %s: want a prefix length from %d to 30`, pool.Size, pool.Base, base.Bits())
		}
	}
	return nil
}
