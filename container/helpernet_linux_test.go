package container

import (
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/state"
)

func TestSlirp4netnsArgs(t *testing.T) {
	got := slirp4netnsArgs(1234, false, "/run/skiff/slirp4netns-abc.sock", 3, 4)
	want := []string{"--configure", "--mtu=65520", "--disable-host-loopback", "--api-socket", "/run/skiff/slirp4netns-abc.sock",
		"--exit-fd", "3", "--ready-fd", "4", "1234", "tap0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	got = slirp4netnsArgs(1234, true, "s", 3, 4)
	if strings.Contains(strings.Join(got, " "), "--disable-host-loopback") {
		t.Errorf("allow_host_loopback=true: %q", got)
	}
}

func TestSlirp4netnsRequest(t *testing.T) {
	b, err := slirp4netnsRequest("udp", netip.MustParseAddr("127.0.0.1"), 8080, 80)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"execute": "add_hostfwd", "arguments": map[string]any{
		"proto": "udp", "host_addr": "127.0.0.1", "host_port": 8080.0, "guest_addr": "10.0.2.100", "guest_port": 80.0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestPastaArgs(t *testing.T) {
	got := pastaArgs(3, "/run/skiff/pasta-abc.pid", nil, nil)
	want := []string{"--config-net", "--foreground", "--quiet", "--runas", "0:0", "--pid", "/run/skiff/pasta-abc.pid",
		"--no-map-gw", "-T", "none", "-U", "none", "-t", "none", "-u", "none", "--no-netns-quit", "--netns", "/proc/self/fd/3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("no ports: got %q\nwant %q", got, want)
	}
	got = pastaArgs(3, "p", []string{"8080:80", "127.0.0.1/8443:443"}, []string{"5353:53"})
	s := strings.Join(got, " ")
	if !strings.Contains(s, " -t 8080:80 -t 127.0.0.1/8443:443 -u 5353:53 ") || strings.Contains(s, "-t none") || strings.Contains(s, "-u none") {
		t.Errorf("ports: %q", got)
	}
}

func TestPastaPort(t *testing.T) {
	for _, c := range []struct {
		ip   string
		want string
	}{{"0.0.0.0", "8080:80"}, {"127.0.0.1", "127.0.0.1/8080:80"}, {"", "8080:80"}} {
		var ip netip.Addr
		if c.ip != "" {
			ip = netip.MustParseAddr(c.ip)
		}
		if got := pastaPort(ip, 8080, 80); got != c.want {
			t.Errorf("%q: %q, want %q", c.ip, got, c.want)
		}
	}
}

// publishEach: a range is one binding per port; a random host port is
// what publish chose; the host address is kept as given.
func TestPublishEach(t *testing.T) {
	ports := []network.PortMap{
		{Proto: "tcp", HostPort: 8080, ContainerPort: 80, Count: 2},
		{Proto: "udp", HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: 53},
	}
	var calls []string
	got, err := publishEach(ports, func(proto string, ip netip.Addr, hostPort, containerPort uint16) (uint16, error) {
		calls = append(calls, proto+" "+ip.String())
		if hostPort == 0 {
			hostPort = 40000
		}
		return hostPort, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []state.PortBinding{
		{Proto: "tcp", HostPort: 8080, ContainerPort: 80, Count: 1},
		{Proto: "tcp", HostPort: 8081, ContainerPort: 81, Count: 1},
		{Proto: "udp", HostIP: "127.0.0.1", HostPort: 40000, ContainerPort: 53, Count: 1},
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(calls, []string{"tcp 0.0.0.0", "tcp 0.0.0.0", "udp 127.0.0.1"}) {
		t.Errorf("got %+v (calls %q)", got, calls)
	}
}

// A helper not in PATH is one line saying what to install.
func TestLookHelperMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for h, want := range map[string]string{
		"slirp4netns": "slirp4netns is not installed: install the slirp4netns package, or use the default network (tapnet)",
		"pasta":       "pasta is not installed: install the passt package, or use the default network (tapnet)",
	} {
		if _, err := lookHelper(h); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", h, err, want)
		}
	}
}

// A helper that fails before it is ready: the error is its stderr's
// first line, and it is reaped.
func TestHelperNotReady(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "slirp4netns")
	if err := os.WriteFile(fake, []byte("#!"+sh+"\necho 'open(\"/dev/net/tun\"): No such device' >&2\necho second >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = startSlirp4netns(fake, 1, false, filepath.Join(dir, "api.sock"), nil)
	if err == nil || err.Error() != `slirp4netns: open("/dev/net/tun"): No such device` {
		t.Errorf("err %v", err)
	}
	fakePasta := filepath.Join(dir, "pasta")
	if err := os.WriteFile(fakePasta, []byte("#!"+sh+"\necho '1796191928.6607: Failed to open tun' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = startPasta(fakePasta, os.Getpid(), filepath.Join(dir, "pasta.pid"), nil)
	if err == nil || err.Error() != "pasta: Failed to open tun" {
		t.Errorf("pasta: err %v", err)
	}
}
