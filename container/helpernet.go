package container

import (
	"os"
	"os/exec"
	"sync"

	"github.com/skiff-dev/skiff/state"
)

// netHelper is the helper program (slirp4netns, pasta) serving a
// container's network while its process runs (helpernet_linux.go).
type netHelper struct {
	name string
	cmd  *exec.Cmd
	// exit is the write end of slirp4netns's exit fd: closing it ends
	// the helper (and a monitor killed -9 closes it too); nil for pasta,
	// killed by pid, and by its parent-death signal.
	exit *os.File
	// done is cmd.Wait's result, sent by the goroutine that started the
	// helper (on a thread locked for the helper's life: the parent-death
	// signal is the thread's).
	done    chan error
	stderr  *headWriter
	ports   []state.PortBinding
	cleanup []string // files to remove once it has ended (API socket, pid file)
}

// headWriter keeps the first bytes written to it (a helper's stderr, for
// its error) and drops the rest.
type headWriter struct {
	mu  sync.Mutex
	buf []byte
}

const headMax = 4096

func (w *headWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := headMax - len(w.buf); room > 0 {
		w.buf = append(w.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (w *headWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
