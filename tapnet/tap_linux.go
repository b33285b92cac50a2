package tapnet

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

const tunPath = "/dev/net/tun"

// containerMAC is tap0's address: fixed, so a container's ARP cache and a
// packet capture read the same on every start (slirp4netns' scheme, 52:55
// and the IPv4 address).
var containerMAC = net.HardwareAddr{0x52, 0x55, 0x0a, 0x00, 0x02, 0x64}

// OpenTAP opens /dev/net/tun and makes a TAP named name (IFF_TAP|IFF_NO_PI)
// in the calling thread's network namespace; a /dev/net/tun the user may
// not open is an error saying exactly that.
func OpenTAP(name string) (*os.File, error) {
	fd, err := unix.Open(tunPath, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, tunOpenError(err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap name %q: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("making tap %s (TUNSETIFF): %w", name, err)
	}
	return os.NewFile(uintptr(fd), tunPath), nil
}

// tunOpenError says why /dev/net/tun did not open and what fixes it: the
// node's mode is a distribution's choice (udev), not skiff's.
func tunOpenError(err error) error {
	if errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("opening %s: %w: the tun module is not loaded (modprobe tun) or /dev has no node (mknod %s c 10 200)", tunPath, err, tunPath)
	}
	if !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("opening %s: %w", tunPath, err)
	}
	var st unix.Stat_t
	if unix.Stat(tunPath, &st) != nil {
		return fmt.Errorf("opening %s: %w; a rootless container's network needs to open it", tunPath, err)
	}
	return fmt.Errorf("opening %s: %w: it is mode %#o, owner %s, and this user (uid %s) may not open it; "+
		"a rootless container's network needs it (Debian's udev default is 0666): "+
		"ask the administrator for mode 0666 (a udev rule KERNEL==\"tun\", MODE=\"0666\"), or run with --network none",
		tunPath, err, fs.FileMode(st.Mode).Perm(), hostID("uid", st.Uid)+":"+hostID("gid", st.Gid), hostID("uid", uint32(os.Getuid())))
}

// hostID is id as the host sees it: the error is read by the user outside
// the rootless user namespace the caller may be in, where root's node
// shows as the overflow id 65534.
func hostID(kind string, id uint32) string {
	m, err := os.ReadFile("/proc/self/" + kind + "_map")
	if err != nil {
		return fmt.Sprint(id)
	}
	for _, line := range strings.Split(string(m), "\n") {
		var inside, outside, n uint32
		if _, err := fmt.Sscan(line, &inside, &outside, &n); err == nil && id >= inside && id-inside < n {
			return fmt.Sprint(outside + (id - inside))
		}
	}
	return fmt.Sprintf("%d (unmapped here: root's, most likely)", id)
}

// ConfigureTAP, in the calling thread's network namespace: lo up, name up
// with ContainerCIDR and MTU, the default route via Gateway.
func ConfigureTAP(name string) error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("finding lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("setting lo up: %w", err)
	}
	tap, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("finding %s: %w", name, err)
	}
	if err := netlink.LinkSetMTU(tap, MTU); err != nil {
		return fmt.Errorf("setting %s's mtu: %w", name, err)
	}
	if err := netlink.LinkSetHardwareAddr(tap, containerMAC); err != nil {
		return fmt.Errorf("setting %s's address: %w", name, err)
	}
	addr, err := netlink.ParseAddr(ContainerCIDR)
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(tap, addr); err != nil {
		return fmt.Errorf("adding %s to %s: %w", ContainerCIDR, name, err)
	}
	if err := netlink.LinkSetUp(tap); err != nil {
		return fmt.Errorf("setting %s up: %w", name, err)
	}
	gw := netip.MustParseAddr(Gateway)
	route := &netlink.Route{LinkIndex: tap.Attrs().Index, Gw: gw.AsSlice()}
	if err := netlink.RouteAdd(route); err != nil {
		return fmt.Errorf("adding the default route via %s: %w", Gateway, err)
	}
	return nil
}
