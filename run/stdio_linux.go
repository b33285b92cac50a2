package run

// The CLI's own terminal relayed to a process it runs in a container
// (skiff exec): stdio pipes or a pty, and the signals docker proxies.

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// relayed are the signals skiff passes on to the container's process, as
// docker's --sig-proxy does.
var relayed = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// stdio connects the container's stdio to ours. The container never gets
// one of our terminal fds (a process could TIOCSTI into the host's shell,
// or keep it after we exit): a terminal is interposed with a pipe, and
// with -t the init hands us a pty of the container's own instead. Plain
// files and pipes are passed straight through.
type stdio struct {
	in, out, err *os.File // the child's ends (nil: /dev/null)
	childEnds    []*os.File
	copies       []func()
	outputs      sync.WaitGroup
	pty          *os.File
	rawState     *term.State
}

func newStdio(interactive, tty bool) (*stdio, error) {
	s := &stdio{}
	if tty {
		return s, nil // the init's stdio become the pty slave
	}
	var err error
	if interactive {
		if s.in, err = s.relayIn(os.Stdin); err != nil {
			return nil, err
		}
	}
	if s.out, err = s.relayOut(os.Stdout); err != nil {
		return nil, err
	}
	if s.err, err = s.relayOut(os.Stderr); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *stdio) relayIn(src *os.File) (*os.File, error) {
	if !term.IsTerminal(int(src.Fd())) {
		return src, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.childEnds = append(s.childEnds, r)
	s.copies = append(s.copies, func() {
		io.Copy(w, src)
		w.Close() // EOF on the container's stdin, as docker on ^D
	})
	return r, nil
}

func (s *stdio) relayOut(dst *os.File) (*os.File, error) {
	if !term.IsTerminal(int(dst.Fd())) {
		return dst, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.childEnds = append(s.childEnds, w)
	s.outputs.Add(1)
	s.copies = append(s.copies, func() {
		defer s.outputs.Done()
		io.Copy(dst, r)
		r.Close()
	})
	return w, nil
}

// attachPty relays our terminal to the container's pty: raw mode with
// -i on a terminal, window size copied now and on SIGWINCH.
func (s *stdio) attachPty(pty *os.File, interactive bool) error {
	s.pty = pty
	if interactive {
		if term.IsTerminal(int(os.Stdin.Fd())) {
			st, err := term.MakeRaw(int(os.Stdin.Fd()))
			if err != nil {
				return fmt.Errorf("setting the terminal to raw mode: %w", err)
			}
			s.rawState = st
		}
		s.copies = append(s.copies, func() {
			io.Copy(pty, os.Stdin)
			// A pty has no half-close: end of our input becomes the
			// terminal's EOF character, as script(1) does for piped input.
			pty.Write([]byte{0x04})
		})
	}
	s.resize()
	s.outputs.Add(1)
	s.copies = append(s.copies, func() {
		defer s.outputs.Done()
		io.Copy(os.Stdout, pty) // ends with EIO once the last slave fd closes
	})
	return nil
}

// resize copies our terminal's window size to the container's pty.
func (s *stdio) resize() {
	for _, f := range []*os.File{os.Stdout, os.Stdin, os.Stderr} {
		ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
		if err == nil {
			unix.IoctlSetWinsize(int(s.pty.Fd()), unix.TIOCSWINSZ, ws)
			return
		}
	}
}

func (s *stdio) startCopies() {
	for _, c := range s.copies {
		go c()
	}
}

func (s *stdio) closeChildEnds() {
	for _, f := range s.childEnds {
		f.Close()
	}
	s.childEnds = nil
}

// wait waits for the container's output to drain. Every process of the
// container dies with its pid 1, so the pipes and the pty reach EOF soon;
// the bound only guards against a holder we do not know of.
func (s *stdio) wait() {
	done := make(chan struct{})
	go func() { s.outputs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// close restores the terminal; a stdin copy blocked in read is left to
// die with skiff.
func (s *stdio) close() {
	if s.rawState != nil {
		term.Restore(int(os.Stdin.Fd()), s.rawState)
		s.rawState = nil
	}
}
