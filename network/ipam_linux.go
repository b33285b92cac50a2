package network

// The address allocator: one file per allocated address under
// RunDir/addresses, named by the address and holding its owner's id,
// changed only under the flock of RunDir/addresses.lock. Files rather than
// one json: allocating and releasing touch one small file, and Sweep reads
// the owners with one readdir (a failed open when nothing is allocated).

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

const (
	addressesDir = "addresses"
	addressLock  = "addresses.lock"
)

// allocate gives id the lowest free address of subnet after its network
// address, never the gateway, the broadcast address nor one of inUse; an
// id that holds one already gets it back, with held true.
func allocate(runDir string, subnet netip.Prefix, gateway netip.Addr, id string, inUse map[netip.Addr]bool) (addr netip.Addr, held bool, err error) {
	return allocateIn(runDir, subnet.Masked().Addr().Next(), lastAddr(subnet).Prev(), gateway, id, inUse)
}

// allocateIn is allocate from the addresses first .. last (a user
// network's --ip-range, or one --ip): the lowest free one, never the
// gateway nor one of inUse; an id that holds one of them gets it back.
func allocateIn(runDir string, first, last, gateway netip.Addr, id string, inUse map[netip.Addr]bool) (addr netip.Addr, held bool, err error) {
	unlock, err := lockAddresses(runDir)
	if err != nil {
		return netip.Addr{}, false, err
	}
	defer unlock()
	owners, err := readOwners(runDir)
	if err != nil {
		return netip.Addr{}, false, err
	}
	taken := make(map[netip.Addr]bool, len(owners))
	for a, owner := range owners {
		if owner == id && !a.Less(first) && !last.Less(a) {
			return a, true, nil
		}
		taken[a] = true
	}
	for a := first; a.IsValid() && !last.Less(a); a = a.Next() {
		if a == gateway || taken[a] || inUse[a] {
			continue
		}
		path := filepath.Join(runDir, addressesDir, a.String())
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return netip.Addr{}, false, fmt.Errorf("allocate %s: %w", a, err)
		}
		_, werr := f.WriteString(id)
		if err := errors.Join(werr, f.Close()); err != nil {
			os.Remove(path)
			return netip.Addr{}, false, fmt.Errorf("allocate %s: %w", a, err)
		}
		return a, false, nil
	}
	return netip.Addr{}, false, ErrPoolExhausted
}

// release frees addr if id owns it: a second release, or one racing a
// Sweep, finds nothing and is no error.
func release(runDir string, addr netip.Addr, id string) error {
	unlock, err := lockAddresses(runDir)
	if err != nil {
		return err
	}
	defer unlock()
	return releaseLocked(runDir, addr, id)
}

func releaseLocked(runDir string, addr netip.Addr, id string) error {
	path := filepath.Join(runDir, addressesDir, addr.String())
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && string(b) != id) {
		return nil
	}
	if err == nil {
		err = os.Remove(path)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("release %s: %w", addr, err)
	}
	return nil
}

// readOwners maps each allocated address to its owner's id; nothing
// allocated (no directory) is an empty map.
func readOwners(runDir string) (map[netip.Addr]string, error) {
	dir := filepath.Join(runDir, addressesDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read allocations: %w", err)
	}
	owners := make(map[netip.Addr]string, len(entries))
	for _, e := range entries {
		a, err := netip.ParseAddr(e.Name())
		if err != nil {
			continue // not an allocation
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue // released meanwhile (Sweep reads without the lock)
		} else if err != nil {
			return nil, fmt.Errorf("read allocation %s: %w", e.Name(), err)
		}
		owners[a] = strings.TrimSpace(string(b))
	}
	return owners, nil
}

// lockAddresses takes the allocator's lock, creating the directories.
func lockAddresses(runDir string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Join(runDir, addressesDir), 0o700); err != nil {
		return nil, fmt.Errorf("create the address allocator: %w", err)
	}
	return lockFile(filepath.Join(runDir, addressLock))
}

// lockFile takes the exclusive flock of path, created if missing; unlock
// closes it, which drops the lock (a dead holder's lock goes with it).
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// lastAddr is subnet's broadcast address.
func lastAddr(subnet netip.Prefix) netip.Addr {
	a := ipv4Uint(subnet.Masked().Addr()) | (uint64(1)<<(32-subnet.Bits()) - 1)
	return uintIPv4(a)
}

func ipv4Uint(a netip.Addr) uint64 {
	b := a.As4()
	return uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
}

func uintIPv4(v uint64) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// ipNet converts p for the netlink API.
func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// maskOnes is dst's prefix length, 0 for a nil destination (the default
// route's, as netlink reports it).
func maskOnes(dst *net.IPNet) (int, int) {
	if dst == nil {
		return 0, 32
	}
	return dst.Mask.Size()
}
