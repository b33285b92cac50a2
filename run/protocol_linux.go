package run

// The sync protocol's transport and its steps on either end (protocol.go
// draws the exchange).

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/seccomp"
)

// syncSocket is one end of the sync socket: the parent's, or syncFd in
// the child.
type syncSocket int

// syncPair is the parent's and the child's ends of a sync socket, both
// close-on-exec (os/exec dups the child's onto fd 3 for it).
func syncPair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	return os.NewFile(uintptr(fds[0]), "sync"), os.NewFile(uintptr(fds[1]), "sync-child"), nil
}

// send writes one message: the kind byte, then payload; fd, if not -1,
// rides along as SCM_RIGHTS. MSG_NOSIGNAL: a peer gone is an error, never
// a SIGPIPE.
func (s syncSocket) send(k msgKind, payload []byte, fd int) error {
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	msg := append([]byte{byte(k)}, payload...)
	if err := unix.Sendmsg(int(s), msg, oob, nil, unix.MSG_NOSIGNAL); err != nil {
		return fmt.Errorf("sending %s message (%d bytes): %w", k, len(msg), err)
	}
	return nil
}

// sendJSON sends v as k's payload.
func (s syncSocket) sendJSON(k msgKind, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s message: %w", k, err)
	}
	return s.send(k, b, -1)
}

// message is one message received.
type message struct {
	kind    msgKind
	payload []byte
	fd      *os.File // msgPty's file, close-on-exec
}

// recv reads one message whose payload is at most limit bytes. io.EOF: the
// peer closed its end (for the parent: the child exec'd). A file passed
// with any message but msgPty, or several, is closed and an error.
func (s syncSocket) recv(limit int) (message, error) {
	size, err := s.nextSize()
	if err != nil {
		return message{}, err
	}
	// Exactly the message's size: a 1 MiB buffer per receive (the
	// config's bound) grew a fresh init's heap toward its first garbage
	// collection.
	buf := make([]byte, max(1, min(size, 1+limit)))
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, flags, _, err := unix.Recvmsg(int(s), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return message{}, err
		}
		fds := rights(oob[:oobn])
		switch {
		case flags&unix.MSG_TRUNC != 0:
			closeAll(fds)
			return message{}, fmt.Errorf("message larger than %d bytes", limit)
		case n == 0:
			closeAll(fds)
			return message{}, io.EOF
		}
		m := message{kind: msgKind(buf[0]), payload: buf[1:n]}
		if len(fds) == 0 && flags&unix.MSG_CTRUNC == 0 {
			return m, nil
		}
		if m.kind != msgPty || len(fds) != 1 || flags&unix.MSG_CTRUNC != 0 {
			closeAll(fds)
			return message{}, fmt.Errorf("%s message carried an unexpected file descriptor", m.kind)
		}
		m.fd = os.NewFile(uintptr(fds[0]), "pty-master")
		return m, nil
	}
}

// nextSize is the size of the next message, read without taking it
// (MSG_PEEK|MSG_TRUNC answers a datagram's whole length); 0 at EOF. No
// control buffer is given, so a passed file is not received twice.
func (s syncSocket) nextSize() (int, error) {
	var b [1]byte
	for {
		n, _, _, _, err := unix.Recvmsg(int(s), b[:], nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return n, err
	}
}

func rights(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if f, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, f...)
		}
	}
	return fds
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// The parent's steps.

// sendTimeline hands the child the CLI's start when this process marks
// its phases (-D), so the child marks its own; else it sends nothing.
func sendTimeline(s syncSocket) error {
	if !timeline.Enabled() {
		return nil
	}
	return s.send(msgTimeline, binary.BigEndian.AppendUint64(nil, uint64(timeline.Origin())), -1)
}

// awaitExec reads the child's messages until the socket closes (it
// exec'd). It returns the pty master if one was sent, or the child's
// msgError as a *StartError once the child has exited.
//
// A child that fails before it reads msgGo closes its end with msgGo
// unread, and the kernel then reports ECONNRESET before the messages the
// child queued: the reset is kept and reading goes on, so its msgError
// still arrives. EOF after a reset is no exec (the child never read
// msgGo) but a child that died: the reset is the error.
func awaitExec(s syncSocket, cmd *exec.Cmd) (pty *os.File, err error) {
	var reset error
	for {
		m, err := s.recv(maxReplySize)
		switch {
		case err == io.EOF && reset != nil:
			return pty, fmt.Errorf("reading from container init: %w", reset)
		case err == io.EOF:
			return pty, nil
		case errors.Is(err, unix.ECONNRESET) && reset == nil:
			reset = err
			continue
		case err != nil:
			return pty, fmt.Errorf("reading from container init: %w", err)
		}
		switch {
		case m.kind == msgMark && m.fd == nil:
			timeline.Relay(string(m.payload))
		case m.kind == msgPty && m.fd != nil && pty == nil:
			pty = m.fd
		case m.kind == msgError:
			var res InitResult
			if err := json.Unmarshal(m.payload, &res); err != nil {
				return pty, fmt.Errorf("container init sent a bad message: %w", err)
			}
			cmd.Wait() // the child exits right after reporting
			if res.Code == 0 {
				res.Code = 125
			}
			return pty, &StartError{Code: res.Code, Err: errors.New(res.Msg)}
		default:
			if m.fd != nil {
				m.fd.Close()
			}
			return pty, fmt.Errorf("container init sent an unexpected %s message", m.kind)
		}
	}
}

// The child's steps.

// childSync makes syncFd close-on-exec before anything else can run, so
// no process the child starts inherits it; who ("init", "exec") and code
// (docker's status for a failed set-up) name a failure on stderr: there is
// nobody else to tell yet.
func childSync(who string, code int) syncSocket {
	if _, err := unix.FcntlInt(syncFd, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		fmt.Fprintf(os.Stderr, "skiff %s: sync socket fd %d: %v\n", who, syncFd, err)
		os.Exit(code)
	}
	return syncFd
}

// readConfig reads the parent's msgConfig into v; who ("init", "exec")
// names the child in errors and in its phase marks. A msgTimeline before
// it (-D) turns marks on: they go back to the parent as msgMark.
func readConfig(s syncSocket, who string, v filtered) error {
	what := who + " config"
	m, err := s.recv(maxConfigSize)
	if err == nil && m.kind == msgTimeline {
		if err = joinTimeline(s, who, m.payload); err == nil {
			m, err = s.recv(maxConfigSize)
		}
	}
	if err == nil && m.kind == msgSeccomp {
		if *v.filter(), err = decodeFilter(m.payload); err == nil {
			m, err = s.recv(maxConfigSize)
		}
	}
	if err == io.EOF {
		return fmt.Errorf("read %s: the parent closed the sync socket", what)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	if m.kind != msgConfig {
		return fmt.Errorf("read %s: unexpected %s message", what, m.kind)
	}
	if err := json.Unmarshal(m.payload, v); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	timeline.Mark("config")
	return nil
}

// sendFilter sends the filter of config, if it has one, as msgSeccomp.
func (s syncSocket) sendFilter(config filtered) error {
	p := *config.filter()
	if p == nil {
		return nil
	}
	payload := make([]byte, 8, 8+len(p.Insns))
	binary.BigEndian.PutUint64(payload, uint64(p.Flags))
	return s.send(msgSeccomp, append(payload, p.Insns...), -1)
}

// decodeFilter reads msgSeccomp's payload (sendFilter).
func decodeFilter(payload []byte) (*seccomp.Program, error) {
	if len(payload) <= 8 || (len(payload)-8)%8 != 0 {
		return nil, fmt.Errorf("seccomp message of %d bytes: not flags and whole instructions", len(payload))
	}
	return &seccomp.Program{Flags: uint(binary.BigEndian.Uint64(payload)), Insns: payload[8:]}, nil
}

// joinTimeline starts the child's marks from msgTimeline's payload: the
// CLI's start; each mark is sent to the parent as msgMark.
func joinTimeline(s syncSocket, who string, payload []byte) error {
	if len(payload) != 8 {
		return fmt.Errorf("timeline message of %d bytes, want 8", len(payload))
	}
	origin := int64(binary.BigEndian.Uint64(payload))
	timeline.Join(origin, who, func(mark string) { s.send(msgMark, []byte(mark), -1) })
	return nil
}

// awaitGo blocks until the parent has put us in our cgroup: the user's
// process must start under the container's limits.
func awaitGo(s syncSocket) error {
	m, err := s.recv(0)
	if err == io.EOF {
		return errors.New("wait for the parent: it went away before the container started")
	}
	if err != nil {
		return fmt.Errorf("wait for the parent: %w", err)
	}
	if m.kind != msgGo {
		return fmt.Errorf("wait for the parent: unexpected %s message", m.kind)
	}
	return nil
}

// report sends the failure to the parent (and to stderr when the parent is
// gone) and exits with its code.
func report(e *initError) {
	if err := syncSocket(syncFd).sendJSON(msgError, InitResult{Code: e.code, Msg: e.msg}); err != nil {
		fmt.Fprintf(os.Stderr, "skiff init: %s\n", e.msg)
	}
	os.Exit(e.code)
}
