package server

// The monitor's side of monitor.RunInside and monitor.SignalContainer
// (monitor/inside_linux.go draws the protocol). A rootless skiff outside
// the container's user namespace can neither join the container's
// namespaces nor signal its processes; we, inside, can, so we run its CLI
// or send its signal.
//
// A CLI we run:
//   - is the skiff binary the client handed us (we run skiff-roles, which
//     has no CLI), executed through /proc/self/fd;
//   - gets exactly the client's stdin, stdout and stderr as 0, 1, 2
//     (everything of ours is close-on-exec), its environment with
//     userns.ContainerEnvVar set to our container (and userns.EnvVar to
//     ours: the client outside has none), and its working directory, or /
//     where we cannot enter it;
//   - runs in a process group of its own in our session, which has no
//     terminal: a client's terminal is not its controlling terminal, so
//     it reads and sets that terminal (raw mode with -t) without job
//     control's stops, and a key's SIGINT goes to the client alone, which
//     passes it on (no signal arrives twice);
//   - gets SIGHUP when its client hangs up before it ended (the client
//     stood for its terminal), SIGKILL if we die (Pdeathsig);
//   - is waited for before we exit: after our container's end it ends
//     soon (an exec's process died with the container), and meanwhile
//     the client gets its status and our user namespace stays. A CLI that
//     does not end keeps us (and a stop waiting for us, up to its bound).

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/attach"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/userns"
)

// cliFiles are what a RunCLI request carries: stdin, stdout, stderr, skiff.
const cliFiles = 4

// request serves a connection whose first frame f is RunCLI or Kill and
// reports true; false is any other frame (an attached client's). The
// connection leaves the attached clients first, so no output or Exit is
// broadcast to it after the answer.
func (m *server) request(cl *client, f attach.Frame, files []*os.File) bool {
	if f.Kind != attach.RunCLI && f.Kind != attach.Kill {
		return false
	}
	defer closeFiles(files...)
	m.mu.Lock()
	_, attached := m.clients[cl]
	delete(m.clients, cl)
	m.mu.Unlock()
	if !attached {
		return true // closed by the container's exit meanwhile: nobody to answer
	}
	if f.Kind == attach.Kill {
		m.kill(cl, f.Payload)
	} else {
		m.runCLI(cl, f.Payload, files)
	}
	return true
}

// reply answers a request's client (Done or Failed).
func (m *server) reply(cl *client, k attach.Kind, p []byte) {
	cl.wmu.Lock()
	defer cl.wmu.Unlock()
	attach.Write(cl.conn, k, p)
}

func (m *server) failed(cl *client, format string, a ...any) {
	m.reply(cl, attach.Failed, fmt.Appendf(nil, format, a...))
}

func (m *server) kill(cl *client, p []byte) {
	sig, ok := attach.ParseUint32(p)
	if !ok || sig == 0 || sig > 64 {
		m.failed(cl, "container %s's monitor: invalid signal in the request", shortid.Of(m.id))
		return
	}
	if err := m.signalContainer(unix.Signal(sig)); err != nil {
		m.failed(cl, "signal container %s: %v", shortid.Of(m.id), err)
		return
	}
	m.reply(cl, attach.Done, attach.Uint32(0))
}

// runCLI starts the requested CLI, relays the client's signals to it, and
// answers its exit status once it ended.
func (m *server) runCLI(cl *client, p []byte, files []*os.File) {
	if err := peerIsUs(cl); err != nil {
		m.failed(cl, "container %s's monitor: %v", shortid.Of(m.id), err)
		return
	}
	var req attach.CLIRequest
	if err := json.Unmarshal(p, &req); err != nil || len(req.Args) == 0 || len(files) != cliFiles {
		m.failed(cl, "container %s's monitor: malformed request to run a command", shortid.Of(m.id))
		return
	}
	m.mu.Lock()
	exiting := m.exiting
	if !exiting {
		m.clis.Add(1)
	}
	m.mu.Unlock()
	if exiting {
		m.failed(cl, "container %s has stopped", shortid.Of(m.id))
		return
	}
	defer m.clis.Done()
	code, err := m.startAndWait(cl, &exec.Cmd{
		Path:  fmt.Sprintf("/proc/self/fd/%d", files[3].Fd()),
		Args:  req.Args,
		Env:   cliEnv(req.Env, m.id),
		Dir:   cliDir(req.Dir),
		Stdin: files[0], Stdout: files[1], Stderr: files[2],
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: unix.SIGKILL},
	})
	if err != nil {
		m.failed(cl, "run skiff in container %s's user namespace: %v", shortid.Of(m.id), err)
		return
	}
	m.reply(cl, attach.Done, attach.Uint32(uint32(int32(code))))
}

// startAndWait runs cmd to its end, passing the client's Signal frames
// on, and returns its status (128+n if signal n killed it).
func (m *server) startAndWait(cl *client, cmd *exec.Cmd) (int, error) {
	// Pdeathsig fires when the thread that forked the child ends, and Go
	// ends threads (a locked goroutine that returns): keep this one ours
	// until the child is reaped.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go relaySignals(cl, cmd.Process)
	cmd.Wait()
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// relaySignals passes the client's Signal frames to p until the client's
// connection ends: a hang-up before p's end is a SIGHUP (the client stood
// for p's terminal). Once p is reaped, Signal no longer reaches any
// process (os.Process holds a pidfd).
func relaySignals(cl *client, p *os.Process) {
	for {
		f, err := attach.Read(cl.conn)
		if err != nil {
			p.Signal(unix.SIGHUP)
			return
		}
		if n, ok := attach.ParseUint32(f.Payload); f.Kind == attach.Signal && ok && n > 0 && n <= 64 {
			p.Signal(unix.Signal(n))
		}
	}
}

// peerIsUs refuses a client that is not our own user: it hands us a
// binary to run in our user namespace. (The socket's directory already
// keeps others out; a peer's ids read as they map into our namespace.)
func peerIsUs(cl *client) error {
	raw, err := cl.conn.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil {
		return fmt.Errorf("the client's credentials: %w", err)
	}
	if int(cred.Uid) != os.Geteuid() {
		return fmt.Errorf("refused to run a command for uid %d, not the container's owner", cred.Uid)
	}
	return nil
}

// cliEnv is the client's environment with our identity: the container's
// id, and our user namespace's marker (a client outside has none).
func cliEnv(env []string, id string) []string {
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k != userns.EnvVar && k != userns.ContainerEnvVar {
			out = append(out, kv)
		}
	}
	if v, ok := os.LookupEnv(userns.EnvVar); ok {
		out = append(out, userns.EnvVar+"="+v)
	}
	return append(out, userns.ContainerEnvVar+"="+id)
}

// cliDir is the client's working directory if we can enter it, else /:
// we may see other mounts, or lack the client's groups.
func cliDir(dir string) string {
	if st, err := os.Stat(dir); dir == "" || err != nil || !st.IsDir() || unix.Access(dir, unix.X_OK) != nil {
		return "/"
	}
	return dir
}

// awaitCLIs refuses new CLIs and waits for the running ones to end.
func (m *server) awaitCLIs() {
	m.mu.Lock()
	m.exiting = true
	m.mu.Unlock()
	m.clis.Wait()
}
