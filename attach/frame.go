package attach

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Kind is a frame's type. Client->monitor: Go (the first client only, once),
// Stdin, CloseStdin, Resize, Signal, Detach; RunCLI or Kill as a
// connection's first frame. Monitor->client: Stdout, Stderr, Started,
// Error, Exit, Mark; Done or Failed to answer RunCLI or Kill.
type Kind byte

const (
	Stdin      Kind = 0 // payload: bytes for the container's stdin
	Stdout     Kind = 1 // payload: bytes the container wrote (the pty's output with -t)
	Stderr     Kind = 2 // payload: bytes the container wrote to stderr
	Resize     Kind = 3 // payload: rows, cols as two big-endian uint16
	Signal     Kind = 4 // payload: signal number as big-endian uint32
	CloseStdin Kind = 5 // no payload: the client's stdin reached EOF
	Started    Kind = 6 // payload: the container's pid as big-endian uint32
	Error      Kind = 7 // payload: exit code (big-endian uint32) then a one-line message
	Exit       Kind = 8 // payload: exit code as big-endian int32, sent after the last output
	Detach     Kind = 9 // no payload: the client leaves; the container runs on
	// payload: one -D phase mark of the monitor or the init, "<process>
	// <phase> <ms>" (internal/timeline), printed by a client that has -D
	Mark Kind = 10
	// no payload: the monitor's first client (its spawner) says the record
	// is complete; the monitor loads it and starts the container
	Go Kind = 11
	// payload: a CLIRequest in JSON, sent with stdin, stdout, stderr and
	// the skiff binary as SCM_RIGHTS (WriteFiles), as a connection's first
	// frame: the monitor runs that CLI in the container's user namespace
	// (monitor.RunInside). Signal frames after it go to the CLI; the
	// monitor answers Done (its exit status) or Failed.
	RunCLI Kind = 12
	// payload: a signal number as big-endian uint32, as a connection's
	// first frame: the monitor signals the container's process and answers
	// Done (0) or Failed (monitor.SignalContainer).
	Kill Kind = 13
	// payload: big-endian int32, RunCLI's exit status or Kill's 0. Kinds
	// of their own, so that nothing broadcast to the connection before the
	// monitor took the request (output, the container's Exit) reads as
	// the answer.
	Done Kind = 14
	// payload: why RunCLI or Kill failed, one line
	Failed Kind = 15
)

// CLIRequest is RunCLI's payload: the CLI's argv (argv[0] included), its
// environment and working directory.
type CLIRequest struct {
	Args []string
	Env  []string
	Dir  string
}

// MaxPayload bounds one frame, so a corrupt length can never make a reader
// allocate without limit.
const MaxPayload = 1 << 20

// Frame is one message.
type Frame struct {
	Kind    Kind
	Payload []byte
}

// Write sends one frame: kind, 4-byte big-endian length, payload.
func Write(w io.Writer, k Kind, payload []byte) error {
	buf, err := encode(k, payload)
	if err != nil {
		return err
	}
	_, err = w.Write(buf)
	return err
}

// encode is one frame's bytes, written at once so that frames of
// concurrent writers never interleave.
func encode(k Kind, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("attach: frame of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	buf := make([]byte, 5+len(payload))
	buf[0] = byte(k)
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(payload)))
	copy(buf[5:], payload)
	return buf, nil
}

// Read reads one frame. io.EOF means the peer closed between frames.
func Read(r io.Reader) (Frame, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, fmt.Errorf("attach: truncated frame header: %w", err)
		}
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > MaxPayload {
		return Frame{}, fmt.Errorf("attach: frame of %d bytes exceeds %d", n, MaxPayload)
	}
	f := Frame{Kind: Kind(hdr[0]), Payload: make([]byte, n)}
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		return Frame{}, fmt.Errorf("attach: truncated frame: %w", err)
	}
	return f, nil
}

// Uint32 encodes v as a 4-byte payload (pids, signals, codes).
func Uint32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// ParseUint32 decodes Uint32's payload; false if it is not 4 bytes.
func ParseUint32(p []byte) (uint32, bool) {
	if len(p) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(p), true
}

// ResizePayload encodes a window size.
func ResizePayload(rows, cols uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, rows), cols)
}

// ErrorPayload encodes a start failure: docker's exit code and its message.
func ErrorPayload(code int, msg string) []byte { return append(Uint32(uint32(code)), msg...) }

// ParseError decodes ErrorPayload.
func ParseError(p []byte) (code int, msg string) {
	if len(p) < 4 {
		return 125, "attach: malformed error frame"
	}
	return int(binary.BigEndian.Uint32(p)), string(p[4:])
}
