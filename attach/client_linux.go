package attach

import (
	"errors"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/skiff-dev/skiff/internal/timeline"
)

// How a Session ends other than with the container's exit code.
var (
	ErrDetached = errors.New("detached")
	ErrNoExit   = errors.New("monitor closed the connection without an exit status")
)

// proxied are the signals a foreground client forwards, as docker's --sig-proxy.
var proxied = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2}

// NotifyProxied starts catching the signals a client forwards.
func NotifyProxied() chan os.Signal {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, proxied...)
	return sigs
}

// Session is one client of a container's monitor: our stdio, terminal
// and signals on one side, attach frames on the other.
type Session struct {
	Conn       *net.UnixConn
	Stdin      bool   // relay our stdin
	Tty        bool   // the container has a pty: raw mode, window size
	DetachKeys []byte // with Tty and Stdin: leave the container running
	SigProxy   bool
	Detach     bool // return once Started (run -d)
	OnStarted  func(pid int)
	Signals    chan os.Signal // proxied signals caught before the session began, or nil

	wmu      sync.Mutex
	detached atomic.Bool
}

func (s *Session) send(k Kind, p []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return Write(s.Conn, k, p)
}

// Run relays until the container exits (its code), a start fails (code
// and error), or we detach (ErrDetached). It closes Conn.
func (s *Session) Run() (int, error) {
	defer s.Conn.Close()
	if s.Tty && s.Stdin && term.IsTerminal(int(os.Stdin.Fd())) && !s.Detach {
		if st, err := term.MakeRaw(int(os.Stdin.Fd())); err == nil {
			defer term.Restore(int(os.Stdin.Fd()), st)
		}
	}
	if s.Tty && !s.Detach {
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
	if s.SigProxy && !s.Detach {
		sigs := s.Signals
		if sigs == nil {
			sigs = NotifyProxied()
		}
		defer signal.Stop(sigs)
		go func() {
			for sig := range sigs {
				s.send(Signal, Uint32(uint32(sig.(unix.Signal))))
			}
		}()
	}
	if s.Stdin && !s.Detach {
		go s.copyStdin()
	}
	return s.readFrames()
}

func (s *Session) readFrames() (int, error) {
	for {
		f, err := Read(s.Conn)
		if err != nil {
			if s.detached.Load() {
				return 0, ErrDetached
			}
			return 125, ErrNoExit
		}
		switch f.Kind {
		case Stdout:
			os.Stdout.Write(f.Payload)
		case Stderr:
			os.Stderr.Write(f.Payload)
		case Mark:
			timeline.Relay(string(f.Payload))
		case Started:
			timeline.Mark("started")
			if pid, ok := ParseUint32(f.Payload); ok && s.OnStarted != nil {
				s.OnStarted(int(pid))
			}
			if s.Detach {
				return 0, nil
			}
		case Error:
			code, msg := ParseError(f.Payload)
			return code, errors.New(msg)
		case Exit:
			timeline.Mark("exited")
			code, ok := ParseUint32(f.Payload)
			if !ok {
				return 125, ErrNoExit
			}
			return int(int32(code)), nil
		}
	}
}

// copyStdin sends our stdin, watching for the detach keys on a terminal.
func (s *Session) copyStdin() {
	buf := make([]byte, 32<<10)
	matched := 0 // bytes of the detach sequence seen so far, held back
	keys := s.DetachKeys
	if !s.Tty {
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
						s.send(Detach, nil)
						s.Conn.CloseRead()
						return
					}
					continue
				}
				out = append(out, keys[:matched]...)
				matched = 0
				out = append(out, b)
			}
			if len(out) > 0 && s.send(Stdin, out) != nil {
				return
			}
		}
		if err != nil {
			if err == io.EOF {
				s.send(CloseStdin, nil)
			}
			return
		}
	}
}

func (s *Session) resize() {
	for _, f := range []*os.File{os.Stdout, os.Stdin, os.Stderr} {
		ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
		if err == nil {
			s.send(Resize, ResizePayload(ws.Row, ws.Col))
			return
		}
	}
}

// AwaitExit reads frames from a monitor, discarding output, until its Exit
// frame: the container's exit code, or false if the monitor went first.
func AwaitExit(r io.Reader) (int, bool) {
	for {
		f, err := Read(r)
		if err != nil {
			return 0, false
		}
		if code, ok := ParseUint32(f.Payload); f.Kind == Exit && ok {
			return int(int32(code)), true
		}
	}
}
