package container

// The networks of helper programs (issue 21): --network slirp4netns and
// --network pasta, for comparison with tapnet and compatibility with
// podman. At each start the monitor runs the helper from PATH as its own
// child, in its own network namespace (the host's, or a rootless
// monitor's user's), pointed at the init's pid; the helper makes the
// container's interface and carries its traffic, and ends with the
// container's process. skiff never needs either.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/tapnet"
)

// helperPackages are the Debian packages of the helpers, for the error
// when one is missing.
var helperPackages = map[string]string{spec.NetworkSlirp4netns: "slirp4netns", spec.NetworkPasta: "passt"}

// helperReadyTimeout bounds a helper's setup of the container's network.
const helperReadyTimeout = 10 * time.Second

// lookHelper is the helper's path from PATH, or the one-line error saying
// it is not installed.
func lookHelper(name string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s is not installed: install the %s package, or use the default network (tapnet)", name, helperPackages[name])
	}
	return path, nil
}

// attachHelper starts the helper of c's network mode for the init (pid)
// and publishes c's ports (-p, -P) through it. On failure nothing of it is
// left.
func (c *Container) attachHelper(pid int) error {
	mode := c.State.Host.NetworkMode
	opts, err := spec.ParseHelperNetwork(mode)
	if err != nil {
		return err
	}
	ports, err := c.portMaps()
	if err != nil {
		return err
	}
	name := spec.HelperNetwork(mode)
	path, err := lookHelper(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.store.RunRoot, 0o700); err != nil {
		return err
	}
	// A unix socket's path is at most 107 bytes: the short id keeps it
	// short under a rootless user's run root.
	base := filepath.Join(c.store.RunRoot, name+"-"+shortid.Of(c.State.ID))
	var h *netHelper
	if name == spec.NetworkSlirp4netns {
		h, err = startSlirp4netns(path, pid, opts.AllowHostLoopback, base+".sock", ports)
	} else {
		h, err = startPasta(path, pid, base+".pid", ports)
	}
	if err != nil {
		return err
	}
	c.helper = h
	return nil
}

// slirp4netnsArgs is slirp4netns's command line for the init pid: the
// container's tap0 with tapnet's addresses and MTU, its API socket for
// -p, its exit fd and ready fd.
func slirp4netnsArgs(pid int, allowHostLoopback bool, apiSocket string, exitFD, readyFD int) []string {
	args := []string{"--configure", "--mtu=" + strconv.Itoa(tapnet.MTU)}
	if !allowHostLoopback {
		args = append(args, "--disable-host-loopback")
	}
	return append(args, "--api-socket", apiSocket,
		"--exit-fd", strconv.Itoa(exitFD), "--ready-fd", strconv.Itoa(readyFD),
		strconv.Itoa(pid), tapnet.TapName)
}

// startSlirp4netns runs slirp4netns for pid, waits for its "configured"
// byte on the ready fd and publishes ports through its API socket.
func startSlirp4netns(path string, pid int, allowHostLoopback bool, apiSocket string, ports []network.PortMap) (*netHelper, error) {
	os.Remove(apiSocket) // a dead monitor's
	exitR, exitW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		exitR.Close()
		exitW.Close()
		return nil, err
	}
	defer readyR.Close()
	h := &netHelper{name: spec.NetworkSlirp4netns, exit: exitW, stderr: &headWriter{}, cleanup: []string{apiSocket}}
	// ExtraFiles are fds 3 and 4 in the child.
	h.cmd = exec.Command(path, slirp4netnsArgs(pid, allowHostLoopback, apiSocket, 3, 4)...)
	h.cmd.ExtraFiles = []*os.File{exitR, readyW}
	err = h.start()
	exitR.Close()
	readyW.Close()
	if err != nil {
		exitW.Close()
		return nil, fmt.Errorf("slirp4netns: %w", err)
	}
	if err := h.waitReady(func() (bool, error) {
		readyR.SetReadDeadline(time.Now().Add(helperReadyTimeout))
		b := make([]byte, 1)
		n, err := readyR.Read(b)
		if n == 1 && b[0] == '1' {
			return true, nil
		}
		return false, err
	}); err != nil {
		return nil, err
	}
	if h.ports, err = publishEach(ports, func(proto string, ip netip.Addr, hostPort, containerPort uint16) (uint16, error) {
		if hostPort == 0 {
			if hostPort, err = freePort(proto, ip); err != nil {
				return 0, err
			}
		}
		return hostPort, slirp4netnsHostfwd(apiSocket, proto, ip, hostPort, containerPort)
	}); err != nil {
		h.stop()
		return nil, err
	}
	return h, nil
}

// slirp4netnsRequest is an add_hostfwd request of slirp4netns's API.
func slirp4netnsRequest(proto string, hostIP netip.Addr, hostPort, containerPort uint16) ([]byte, error) {
	type args struct {
		Proto     string `json:"proto"`
		HostAddr  string `json:"host_addr"`
		HostPort  uint16 `json:"host_port"`
		GuestAddr string `json:"guest_addr"`
		GuestPort uint16 `json:"guest_port"`
	}
	return json.Marshal(struct {
		Execute   string `json:"execute"`
		Arguments args   `json:"arguments"`
	}{"add_hostfwd", args{proto, hostIP.String(), hostPort, spec.TapnetIP, containerPort}})
}

// slirp4netnsHostfwd publishes hostIP:hostPort to the container's port
// through slirp4netns's API socket: one request per connection, the
// answer {"return": ...} or {"error": {"desc": ...}}.
func slirp4netnsHostfwd(apiSocket, proto string, hostIP netip.Addr, hostPort, containerPort uint16) error {
	req, err := slirp4netnsRequest(proto, hostIP, hostPort, containerPort)
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout("unix", apiSocket, helperReadyTimeout)
	if err != nil {
		return fmt.Errorf("slirp4netns: its API: %w", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(helperReadyTimeout))
	if _, err := conn.Write(req); err != nil {
		return fmt.Errorf("slirp4netns: its API: %w", err)
	}
	conn.(*net.UnixConn).CloseWrite()
	b, err := io.ReadAll(io.LimitReader(conn, 1<<16))
	if err != nil {
		return fmt.Errorf("slirp4netns: its API: %w", err)
	}
	var resp struct {
		Error *struct {
			Desc string `json:"desc"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return fmt.Errorf("slirp4netns: its API answered %q", b)
	}
	if resp.Error != nil {
		return fmt.Errorf("publish port %s %s:%d: slirp4netns: %s", proto, hostIP, hostPort, resp.Error.Desc)
	}
	return nil
}

// pastaArgs is pasta's command line for the init's network namespace,
// open on netnsFD (pasta's own /proc/self/fd/N: pointed at the init's pid
// it opens /proc/PID/ns/user after dropping its capabilities, which a
// root monitor's init, holding all of them, refuses): the container's
// interface configured as the host's, in the foreground (the monitor's
// child), as the user it starts as (root's pasta would be nobody, who may
// not enter the namespace), its pid file written once it is ready; only
// the published ports forwarded in (pasta's default forwards every port
// the container binds), nothing forwarded from the container to the
// host's loopback (-T/-U, --no-map-gw: not reachable, as with tapnet's
// default).
func pastaArgs(netnsFD int, pidFile string, tcp, udp []string) []string {
	args := []string{"--config-net", "--foreground", "--quiet", "--runas", "0:0", "--pid", pidFile,
		"--no-map-gw", "-T", "none", "-U", "none"}
	args = append(args, portSpecs("-t", tcp)...)
	args = append(args, portSpecs("-u", udp)...)
	// --no-netns-quit: a path given, pasta would watch its directory for
	// the namespace's removal; the monitor ends it.
	return append(args, "--no-netns-quit", "--netns", "/proc/self/fd/"+strconv.Itoa(netnsFD))
}

// portSpecs are pasta's flag for each spec, or "none".
func portSpecs(flag string, specs []string) []string {
	if len(specs) == 0 {
		return []string{flag, "none"}
	}
	var out []string
	for _, s := range specs {
		out = append(out, flag, s)
	}
	return out
}

// pastaPort is pasta's spec of one published port: [ADDR/]HOST:CONTAINER.
func pastaPort(hostIP netip.Addr, hostPort, containerPort uint16) string {
	s := fmt.Sprintf("%d:%d", hostPort, containerPort)
	if hostIP.IsValid() && !hostIP.IsUnspecified() {
		s = hostIP.String() + "/" + s
	}
	return s
}

// startPasta runs pasta for pid with ports on its command line (random
// host ports chosen first) and waits for its pid file.
func startPasta(path string, pid int, pidFile string, ports []network.PortMap) (*netHelper, error) {
	os.Remove(pidFile)
	var tcp, udp []string
	bindings, err := publishEach(ports, func(proto string, ip netip.Addr, hostPort, containerPort uint16) (uint16, error) {
		if hostPort == 0 {
			var err error
			if hostPort, err = freePort(proto, ip); err != nil {
				return 0, err
			}
		}
		if proto == "udp" {
			udp = append(udp, pastaPort(ip, hostPort, containerPort))
		} else {
			tcp = append(tcp, pastaPort(ip, hostPort, containerPort))
		}
		return hostPort, nil
	})
	if err != nil {
		return nil, err
	}
	netns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return nil, fmt.Errorf("pasta: the container's network namespace: %w", err)
	}
	defer netns.Close()
	h := &netHelper{name: spec.NetworkPasta, stderr: &headWriter{}, ports: bindings, cleanup: []string{pidFile}}
	h.cmd = exec.Command(path, pastaArgs(3, pidFile, tcp, udp)...)
	h.cmd.ExtraFiles = []*os.File{netns}
	// Killed with the monitor (the thread that started it lives as long).
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := h.start(); err != nil {
		return nil, fmt.Errorf("pasta: %w", err)
	}
	deadline := time.Now().Add(helperReadyTimeout)
	if err := h.waitReady(func() (bool, error) {
		for time.Now().Before(deadline) {
			if b, err := os.ReadFile(pidFile); err == nil && len(strings.TrimSpace(string(b))) > 0 {
				return true, nil
			}
			select {
			case err := <-h.done:
				h.done <- err // waitReady reads it
				return false, io.EOF
			case <-time.After(5 * time.Millisecond):
			}
		}
		return false, os.ErrDeadlineExceeded
	}); err != nil {
		return nil, err
	}
	return h, nil
}

// start starts h.cmd, its stderr kept, on a thread locked until it is
// reaped: a parent-death signal is sent when the thread that forked the
// child ends, and Go ends a locked thread whose goroutine returns.
func (h *netHelper) start() error {
	h.cmd.Stdin, h.cmd.Stdout, h.cmd.Stderr = nil, nil, h.stderr
	started := make(chan error, 1)
	h.done = make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the helper
		if err := startDefaultSIGPIPE(h.cmd); err != nil {
			started <- err
			return
		}
		started <- nil
		h.done <- h.cmd.Wait()
	}()
	return <-started
}

// startDefaultSIGPIPE starts cmd with SIGPIPE's default disposition: the
// monitor ignores it, and an ignored signal stays ignored across exec,
// which pasta of Debian 12 (2023-03-09) takes for a failure ("Couldn't
// install signal handlers": it tests signal()'s old handler, SIG_IGN, for
// non-zero). For the fork alone SIGPIPE is notified (Go's handler again,
// which exec resets to the default; signal.Reset would leave SIG_IGN), a
// SIGPIPE meanwhile sent to a channel nobody reads, not fatal.
func startDefaultSIGPIPE(cmd *exec.Cmd) error {
	if !signal.Ignored(syscall.SIGPIPE) {
		return cmd.Start()
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGPIPE)
	defer signal.Ignore(syscall.SIGPIPE)
	defer signal.Stop(ch)
	return cmd.Start()
}

// waitReady runs ready, the helper's own readiness; when it says no the
// helper is stopped and the error is its stderr's first line.
func (h *netHelper) waitReady(ready func() (bool, error)) error {
	ok, err := ready()
	if ok {
		return nil
	}
	timedOut := errors.Is(err, os.ErrDeadlineExceeded)
	h.stop()
	if timedOut {
		return fmt.Errorf("%s: not ready after %s", h.name, helperReadyTimeout)
	}
	line := h.firstLine()
	if line == "" {
		line = "exited before the network was ready"
	}
	return fmt.Errorf("%s: %s", h.name, line)
}

// firstLine is the first non-empty line of the helper's stderr, without
// the timestamp pasta starts each with ("1796191928.6607: ").
func (h *netHelper) firstLine() string {
	for _, l := range strings.Split(h.stderr.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if stamp, rest, ok := strings.Cut(l, ": "); ok && strings.Trim(stamp, "0123456789.") == "" {
				l = rest
			}
			return l
		}
	}
	return ""
}

// stop ends the helper and reaps it: slirp4netns by closing its exit fd,
// pasta by SIGTERM; either killed if it lingers.
func (h *netHelper) stop() {
	if h.exit != nil {
		h.exit.Close()
		h.exit = nil
	} else {
		h.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-h.done:
	case <-time.After(time.Second):
		h.cmd.Process.Kill()
		<-h.done
	}
	for _, f := range h.cleanup {
		os.Remove(f)
	}
}

// freePort is a host port free now for proto on ip: what the kernel gives
// a listener on port 0 (the helpers take a port, not 0).
func freePort(proto string, ip netip.Addr) (uint16, error) {
	var ap netip.AddrPort
	if proto == "udp" {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			return 0, fmt.Errorf("a free udp port on %s: %w", ip, err)
		}
		ap = c.LocalAddr().(*net.UDPAddr).AddrPort()
		c.Close()
	} else {
		l, err := net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			return 0, fmt.Errorf("a free tcp port on %s: %w", ip, err)
		}
		ap = l.Addr().(*net.TCPAddr).AddrPort()
		l.Close()
	}
	return ap.Port(), nil
}

// detachHelper stops c's helper: its published ports go with it, the
// interface goes with the namespace.
func (c *Container) detachHelper() {
	if c.helper != nil {
		c.helper.stop()
		c.helper = nil
	}
}

// helperStatus is the record's NetworkStatus of a running container on a
// helper's network: slirp4netns's addresses are tapnet's; pasta's
// interface copies the host's, not read back here.
func (c *Container) helperStatus() *state.NetworkStatus {
	st := &state.NetworkStatus{Network: c.helper.name, Ports: c.helper.ports}
	if c.helper.name == spec.NetworkSlirp4netns {
		st.Interface, st.IPAddress, st.IPPrefixLen, st.Gateway = tapnet.TapName, spec.TapnetIP, 24, spec.TapnetGateway
	}
	return st
}
