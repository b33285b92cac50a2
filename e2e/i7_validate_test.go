package e2e

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
)

// Issue 7, CLI fidelity: what docker refuses is refused before anything is
// pulled, created or named, with docker's sentence on one line.

// i7validateLine is the one stderr line a refusal prints: verb is "" for
// the verbs whose errors carry no verb (pull, images), else run or create.
func i7validateLine(verb, msg string) string {
	if verb == "" {
		return "skiff: " + msg
	}
	return "skiff: " + verb + ": " + msg
}

// i7validateRefused asserts exit code and that stderr is exactly want.
func i7validateRefused(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code || strings.TrimSuffix(r.stderr, "\n") != want {
		t.Errorf("want exit %d and stderr %q; got %v", code, want, r)
	}
}

// i7validateNoContainers asserts the store holds no container at all.
func i7validateNoContainers(t *testing.T, s *store) {
	t.Helper()
	if r := s.skiff(nil, "ps", "-a", "-q"); r.code != 0 || r.stdout != "" {
		t.Errorf("ps -a -q: want no container; %v", r)
	}
}

// i7validateListener counts the connections made to a loopback port: a
// registry address that answers nothing but tells whether anyone called.
type i7validateListener struct {
	addr  string
	calls atomic.Int64
}

func i7validateListen(t *testing.T) *i7validateListener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ln := &i7validateListener{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			ln.calls.Add(1)
			c.Close()
		}
	}()
	return ln
}

// TestI7ValidateReferences: malformed references fail as docker's parser
// fails them, exit 1 (125 for run and create), before any connection: the
// registry named in them is a listener that counts calls.
func TestI7ValidateReferences(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	reg := i7validateListen(t)
	const lowercase = "invalid reference format: repository name (%s) must be lowercase"
	tests := []struct{ ref, msg string }{
		{"/library/busybox", "invalid reference format"},
		{"-", "invalid reference format"},
		{reg.addr + "//busybox", "invalid reference format"},
		{reg.addr + "/-", "invalid reference format"},
		{reg.addr + "/busybox:", "invalid reference format"},
		{reg.addr + "/busybox@sha256:abc", "invalid reference format"},
		{"busybox:", "invalid reference format"},
		{"busybox@sha256:abc", "invalid reference format"},
		{"Busybox", fmt.Sprintf(lowercase, "library/Busybox")},
		{reg.addr + "/Library/x", fmt.Sprintf(lowercase, "Library/x")},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			i7validateRefused(t, s.skiff(nil, "pull", tt.ref), 1, i7validateLine("", tt.msg))
			i7validateRefused(t, s.skiff(nil, "run", "--rm", tt.ref, "true"), 125, i7validateLine("run", tt.msg))
			i7validateRefused(t, s.skiff(nil, "create", tt.ref), 125, i7validateLine("create", tt.msg))
			i7validateRefused(t, s.skiff(nil, "images", tt.ref), 1, i7validateLine("", tt.msg))
			i7validateRefused(t, s.skiff(nil, "tag", tt.ref, "x"), 1,
				i7validateLine("", fmt.Sprintf("error parsing reference: %q is not a valid repository/tag: %s", tt.ref, tt.msg)))
		})
	}
	i7validateNoContainers(t, s)
	if n := reg.calls.Load(); n != 0 {
		t.Errorf("%d connections reached the registry; a malformed reference must fail before any", n)
	}
	// The listener does see a well-formed reference's pull: the zero
	// above is a measurement, not a listener that cannot count.
	if r := s.skiff(nil, "pull", reg.addr+"/busybox"); r.code == 0 || reg.calls.Load() == 0 {
		t.Errorf("pull %s/busybox: want a failed pull that connected; %d calls, %v", reg.addr, reg.calls.Load(), r)
	}
}

// TestI7ValidateRunFlags: run and create refuse bad values with docker's
// words and exit 125, and leave nothing behind: no record, no name taken.
func TestI7ValidateRunFlags(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	s.must(t, "pull", "-q", fx.busybox)
	const name = "i7-validate"
	tests := []struct {
		flags []string
		msg   string
	}{
		{[]string{"--stop-signal", "BOGUS"}, "invalid signal: BOGUS"},
		{[]string{"--stop-signal", "SIGBOGUS"}, "invalid signal: SIGBOGUS"},
		{[]string{"--stop-signal", "0"}, "invalid signal: 0"},
		{[]string{"-e", "=bad"}, `invalid argument "=bad" for "-e, --env" flag: invalid environment variable: =bad`},
		{[]string{"--env", "A=1", "--env", "="}, `invalid argument "=" for "-e, --env" flag: invalid environment variable: =`},
		{[]string{"--restart=sometimes"}, "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"},
		{[]string{"--restart", "on-failure:x"}, "invalid restart policy format: maximum retry count must be an integer"},
		{[]string{"--restart", "always:3"}, "invalid restart policy: maximum retry count can only be used with 'on-failure'"},
		{[]string{"--restart", "on-failure:-1"}, "invalid restart policy: maximum retry count cannot be negative"},
		{[]string{"--stop-timeout", "-5"}, "invalid --stop-timeout -5: use -1 to wait for ever, or 0 or more seconds"},
		{[]string{"--network", "host", "--mac-address", "92:d0:c6:0a:29:33"}, "conflicting options: mac-address and the network mode"},
		{[]string{"--net", "bridge", "--ip", "172.17.0.5"}, "user specified IP address is supported on user defined networks only"},
		{[]string{"--network", "mynet"}, "network mynet not found"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.flags, " "), func(t *testing.T) {
			for _, verb := range []string{"run", "create"} {
				args := append(append([]string{verb, "--name", name}, tt.flags...), fx.busybox, "true")
				i7validateRefused(t, s.skiff(nil, args...), 125, i7validateLine(verb, tt.msg))
			}
			i7validateNoContainers(t, s)
		})
	}
	// The name was never reserved.
	id := s.create(t, "--name", name, fx.busybox, "true")
	s.must(t, "rm", id)

	t.Run("accepted spellings", func(t *testing.T) {
		for _, flags := range [][]string{
			{"--stop-signal", "usr1"}, {"--stop-signal", "SIGUSR1"}, {"--stop-signal", "10"},
			{"-e", "A="}, {"--restart", "always:0"}, {"--restart", "on-failure:2"},
		} {
			args := append(append([]string{"create"}, flags...), fx.busybox, "true")
			s.create(t, args[1:]...)
		}
	})
}

// TestI7ValidateNetworkNone: --network none (and --net none) is what skiff
// gives every container: its own network namespace with loopback only.
func TestI7ValidateNetworkNone(t *testing.T) {
	s := shared(t)
	for _, flag := range []string{"--network=none", "--net=none"} {
		r := s.skiff(nil, "run", "--rm", flag, fx.busybox, "cat", "/proc/net/dev")
		if r.code != 0 || !strings.Contains(r.stdout, "lo:") || strings.Count(r.stdout, ":") != 1 {
			t.Errorf("run %s: want loopback as the only interface; %v", flag, r)
		}
	}
}

// TestI7ValidateStopTimeout: run --help shows stop's real default, while
// the record still tells "not given" from an explicit value, and -1 is
// taken as docker's daemon takes it: wait for ever.
func TestI7ValidateStopTimeout(t *testing.T) {
	s := shared(t)
	r := s.must(t, "run", "--help")
	var line string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.Contains(l, "--stop-timeout") {
			line = l
		}
	}
	if !strings.Contains(line, "(default: 10)") {
		t.Errorf("run --help: want --stop-timeout's default 10 shown; got %q", line)
	}
	for _, tt := range []struct {
		flags []string
		want  string
	}{
		{nil, "<nil>"},
		{[]string{"--stop-timeout", "10"}, "10"},
		{[]string{"--stop-timeout", "-1"}, "-1"},
	} {
		id := s.create(t, append(tt.flags, fx.busybox, "true")...)
		got := s.must(t, "inspect", "-f", "{{.Config.StopTimeout}}", id).stdout
		if strings.TrimSpace(got) != tt.want {
			t.Errorf("create %v: Config.StopTimeout %q, want %q", tt.flags, got, tt.want)
		}
	}
}

// TestI7ValidateInputNotTTY: -it with stdin that is no terminal is refused
// as docker does, exit 1, before the container is made; exec -it likewise,
// after a missing container is reported.
func TestI7ValidateInputNotTTY(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	s.must(t, "pull", "-q", fx.busybox)
	const msg = "skiff: the input device is not a TTY"
	for _, args := range [][]string{
		{"run", "-it", fx.busybox, "true"},
		{"run", "-i", "-t", "--rm", fx.busybox, "true"},
		{"run", "--interactive", "--tty", "--name", "i7-tty", fx.busybox, "true"},
	} {
		i7validateRefused(t, s.skiff(strings.NewReader("echo hi\n"), args...), 1, msg)
		i7validateRefused(t, s.skiff(nil, args...), 1, msg)
	}
	i7validateNoContainers(t, s)

	// Detached, there is no input to attach: docker allows it.
	id := s.runD(t, "-it", fx.busybox, "sleep", "300")
	i7validateRefused(t, s.skiff(nil, "exec", "-it", id, "true"), 1, msg)
	i7validateRefused(t, s.skiff(nil, "exec", "-it", "i7-no-such", "true"), 1,
		"skiff: Error response from daemon: No such container: i7-no-such")
	if r := s.skiff(nil, "exec", "-i", id, "true"); r.code != 0 {
		t.Errorf("exec -i without a terminal: want it to run; %v", r)
	}
	if r := s.skiff(nil, "exec", "-t", id, "true"); r.code != 0 {
		t.Errorf("exec -t without -i: want it to run; %v", r)
	}
}

// TestI7ValidateImageIDs: a bare 64-hex id is no reference to docker's
// parser, yet run and image inspect still find the image by it, as by its
// "sha256:" form and a short prefix.
func TestI7ValidateImageIDs(t *testing.T) {
	s := shared(t)
	h := strings.TrimPrefix(fx.busyboxID, "sha256:")
	for _, ref := range []string{h, fx.busyboxID, h[:12]} {
		if r := s.skiff(nil, "run", "--rm", ref, "true"); r.code != 0 {
			t.Errorf("run %s: %v", ref, r)
		}
		if r := s.skiff(nil, "image", "inspect", "-f", "{{.Id}}", ref); r.code != 0 || strings.TrimSpace(r.stdout) != fx.busyboxID {
			t.Errorf("image inspect %s: want %s; %v", ref, fx.busyboxID, r)
		}
	}
}
