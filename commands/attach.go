package commands

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/skiff-dev/skiff/attach"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/state"
)

func init() { register(attachCommand()) }

func attachCommand() *cli.Command {
	return &cli.Command{
		Name:      "attach",
		Usage:     "attach local standard input, output, and error streams to a running container",
		ArgsUsage: "CONTAINER",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-stdin", Usage: "do not attach STDIN"},
			&cli.BoolFlag{Name: "sig-proxy", Value: true, Usage: "proxy all received signals to the process"},
			&cli.StringFlag{Name: "detach-keys", Usage: "override the key sequence for detaching a container"},
		},
		Action: attachAction,
	}
}

func attachAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return &ExitError{Code: 1, Err: errors.New(`"attach" requires exactly 1 argument: skiff attach [OPTIONS] CONTAINER`)}
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	keys, err := parseDetachKeys(c.String("detach-keys"))
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	ct, err := lookupCurrent(g, c.Args().First())
	if err != nil {
		return &ExitError{Code: 1, Err: daemonError(err)}
	}
	if ct.Status == state.Paused {
		return &ExitError{Code: 1, Err: errors.New("You cannot attach to a paused container, unpause it first")}
	}
	if ct.Status != state.Running {
		return &ExitError{Code: 1, Err: errors.New("You cannot attach to a stopped container, start it first")}
	}
	conn, err := state.DialAttach(g.Paths.RunRoot, ct.ID)
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("%w (the container has no monitor: it cannot be attached)", err)}
	}
	s := &session{
		conn: conn, stdin: ct.Config.OpenStdin && !c.Bool("no-stdin"), tty: ct.Config.Tty,
		detachKeys: keys, sigProxy: c.Bool("sig-proxy") && !ct.Config.Tty,
	}
	code, err := s.run()
	return exitWith(g, ct.ID, code, err)
}

// lookupCurrent finds ref and reconciles a record whose monitor died.
func lookupCurrent(g *Globals, ref string) (*state.Container, error) {
	ct, err := state.Lookup(g.Paths.Root, ref)
	if err != nil {
		return nil, err
	}
	return run.Reconcile(g.Paths.Root, g.Paths.RunRoot, ct)
}

// exitWith turns a session's end into the command's exit: the container's
// code, or (monitor gone without a word) the code its record shows.
func exitWith(g *Globals, id string, code int, err error) error {
	switch {
	case errors.Is(err, errDetached):
		return nil
	case errors.Is(err, errNoExit):
		ct, lerr := lookupCurrent(g, id)
		if lerr != nil || ct.Status == state.Running || ct.Status == state.Restarting {
			return &ExitError{Code: 125, Err: errors.New("lost the container's monitor before it exited (the container may run on: see skiff ps)")}
		}
		if ct.Status == state.Created {
			return &ExitError{Code: 125, Err: errors.New("the container's monitor exited before starting it")}
		}
		code = ct.ExitCode
	case err != nil:
		return &ExitError{Code: code, Err: err}
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

var (
	errDetached = errors.New("detached")
	errNoExit   = errors.New("monitor closed the connection without an exit status")
)

// proxied are the signals a foreground client forwards, as docker's --sig-proxy.
var proxied = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2}

// notifyProxied starts catching the signals a client forwards.
func notifyProxied() chan os.Signal {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, proxied...)
	return sigs
}

// session is one client of a container's monitor: our stdio, terminal
// and signals on one side, attach frames on the other.
type session struct {
	conn       *net.UnixConn
	stdin      bool   // relay our stdin
	tty        bool   // the container has a pty: raw mode, window size
	detachKeys []byte // with tty and stdin: leave the container running
	sigProxy   bool
	detach     bool // return once Started (run -d)
	onStarted  func(pid int)
	sigs       chan os.Signal // proxied signals caught before the session began, or nil

	wmu      sync.Mutex
	detached atomic.Bool
}

func (s *session) send(k attach.Kind, p []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return attach.Write(s.conn, k, p)
}

// run relays until the container exits (its code), a start fails (code
// and error), or we detach (errDetached).
func (s *session) run() (int, error) {
	defer s.conn.Close()
	if s.tty && s.stdin && term.IsTerminal(int(os.Stdin.Fd())) && !s.detach {
		if st, err := term.MakeRaw(int(os.Stdin.Fd())); err == nil {
			defer term.Restore(int(os.Stdin.Fd()), st)
		}
	}
	if s.tty && !s.detach {
		s.resize()
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, unix.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				s.resize()
			}
		}()
	}
	if s.sigProxy && !s.detach {
		sigs := s.sigs
		if sigs == nil {
			sigs = notifyProxied()
		}
		defer signal.Stop(sigs)
		go func() {
			for sig := range sigs {
				s.send(attach.Signal, attach.Uint32(uint32(sig.(unix.Signal))))
			}
		}()
	}
	if s.stdin && !s.detach {
		go s.copyStdin()
	}
	return s.readFrames()
}

func (s *session) readFrames() (int, error) {
	for {
		f, err := attach.Read(s.conn)
		if err != nil {
			if s.detached.Load() {
				return 0, errDetached
			}
			return 125, errNoExit
		}
		switch f.Kind {
		case attach.Stdout:
			os.Stdout.Write(f.Payload)
		case attach.Stderr:
			os.Stderr.Write(f.Payload)
		case attach.Started:
			if s.onStarted != nil && len(f.Payload) == 4 {
				s.onStarted(int(uint32(f.Payload[0])<<24 | uint32(f.Payload[1])<<16 | uint32(f.Payload[2])<<8 | uint32(f.Payload[3])))
			}
			if s.detach {
				return 0, nil
			}
		case attach.Error:
			code, msg := attach.ParseError(f.Payload)
			return code, errors.New(msg)
		case attach.Exit:
			if len(f.Payload) != 4 {
				return 125, errNoExit
			}
			return int(int32(uint32(f.Payload[0])<<24 | uint32(f.Payload[1])<<16 | uint32(f.Payload[2])<<8 | uint32(f.Payload[3]))), nil
		}
	}
}

// copyStdin sends our stdin, watching for the detach keys on a terminal.
func (s *session) copyStdin() {
	buf := make([]byte, 32<<10)
	matched := 0 // bytes of the detach sequence seen so far, held back
	keys := s.detachKeys
	if !s.tty {
		keys = nil
	}
	for {
		n, err := os.Stdin.Read(buf)
		if n > 0 {
			out := make([]byte, 0, n+len(keys))
			for _, b := range buf[:n] {
				if len(keys) > 0 && b == keys[matched] {
					matched++
					if matched == len(keys) {
						s.detached.Store(true)
						s.send(attach.Detach, nil)
						s.conn.CloseRead()
						return
					}
					continue
				}
				out = append(out, keys[:matched]...)
				matched = 0
				out = append(out, b)
			}
			if len(out) > 0 && s.send(attach.Stdin, out) != nil {
				return
			}
		}
		if err != nil {
			if err == io.EOF {
				s.send(attach.CloseStdin, nil)
			}
			return
		}
	}
}

func (s *session) resize() {
	for _, f := range []*os.File{os.Stdout, os.Stdin, os.Stderr} {
		ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
		if err == nil {
			s.send(attach.Resize, attach.ResizePayload(ws.Row, ws.Col))
			return
		}
	}
}

// parseDetachKeys reads docker's --detach-keys ("ctrl-p,ctrl-q", "a,ctrl-x");
// "" is the default ctrl-p ctrl-q.
func parseDetachKeys(spec string) ([]byte, error) {
	if spec == "" {
		return []byte{0x10, 0x11}, nil
	}
	var keys []byte
	for _, k := range strings.Split(spec, ",") {
		if c, ok := strings.CutPrefix(k, "ctrl-"); ok && len(c) == 1 {
			switch ch := c[0]; {
			case ch >= 'a' && ch <= 'z':
				keys = append(keys, ch-'a'+1)
				continue
			case ch == '@' || ch == '[' || ch == '\\' || ch == ']' || ch == '^' || ch == '_':
				keys = append(keys, ch-'@')
				continue
			}
		} else if len(k) == 1 {
			keys = append(keys, k[0])
			continue
		}
		return nil, fmt.Errorf("invalid detach keys (%s) provided", spec)
	}
	return keys, nil
}
