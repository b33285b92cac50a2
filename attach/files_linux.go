package attach

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// WriteFiles sends one frame with files attached as SCM_RIGHTS: the
// receiver gets its own copies of them (ReadFiles).
func WriteFiles(c *net.UnixConn, k Kind, payload []byte, files []*os.File) error {
	buf, err := encode(k, payload)
	if err != nil {
		return err
	}
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	n, _, err := c.WriteMsgUnix(buf, unix.UnixRights(fds...), nil)
	if err == nil && n < len(buf) {
		// A stream socket may take part of a large frame: the files went
		// with its first byte, the rest follows plainly.
		_, err = c.Write(buf[n:])
	}
	return err
}

// ReadFiles reads one frame and the files sent with it (WriteFiles), at
// most max of them: more, or a truncated list, is an error and none are
// kept. The files are close-on-exec (Go receives with MSG_CMSG_CLOEXEC).
func ReadFiles(c *net.UnixConn, max int) (Frame, []*os.File, error) {
	var hdr [5]byte
	oob := make([]byte, unix.CmsgSpace(4*max))
	var files []*os.File
	fail := func(err error) (Frame, []*os.File, error) {
		for _, f := range files {
			f.Close()
		}
		return Frame{}, nil, err
	}
	for got := 0; got < len(hdr); {
		n, oobn, flags, _, err := c.ReadMsgUnix(hdr[got:], oob)
		fs, perr := parseRights(oob[:oobn])
		files = append(files, fs...)
		switch {
		case perr != nil:
			return fail(perr)
		case flags&unix.MSG_CTRUNC != 0 || len(files) > max:
			return fail(fmt.Errorf("attach: more than %d files sent with a frame", max))
		case got+n == 0 && (err == nil || errors.Is(err, io.EOF)):
			return fail(io.EOF) // closed between frames
		case got+n == 0:
			return fail(err)
		case err != nil || n == 0:
			return fail(fmt.Errorf("attach: truncated frame header: %w", io.ErrUnexpectedEOF))
		}
		got += n
	}
	size := binary.BigEndian.Uint32(hdr[1:])
	if size > MaxPayload {
		return fail(fmt.Errorf("attach: frame of %d bytes exceeds %d", size, MaxPayload))
	}
	f := Frame{Kind: Kind(hdr[0]), Payload: make([]byte, size)}
	if _, err := io.ReadFull(c, f.Payload); err != nil {
		return fail(fmt.Errorf("attach: truncated frame: %w", err))
	}
	return f, files, nil
}

func parseRights(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("attach: control message: %w", err)
	}
	var files []*os.File
	var bad error
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			bad = errors.New("attach: a control message that is not SCM_RIGHTS")
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "received"))
		}
	}
	if bad != nil {
		for _, f := range files {
			f.Close()
		}
		return nil, bad
	}
	return files, nil
}
