package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/attach"
	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/logfile"
	"github.com/skiff-dev/skiff/monitor"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/state"
)

// Main is the monitor process (args after monitor.Arg: root, runroot,
// id). It never returns.
func Main(args []string) {
	// A monitor lives as long as its container and mostly sleeps: keep its
	// heap small rather than its GC cheap.
	debug.SetGCPercent(25)
	// The spawner's fds must not reach the container: a container holding
	// the monitor lock would look like a live monitor forever.
	unix.CloseOnExec(monitor.ClientFd)
	unix.CloseOnExec(monitor.LockFd)
	if len(args) != 3 && len(args) != 4 {
		os.Exit(2)
	}
	m := newMonitor(args[0], args[1], args[2])
	var pre *monitor.Prestart
	if len(args) == 4 {
		p, ok := monitor.ParsePrestart(args[3])
		if !ok {
			os.Exit(2)
		}
		pre = &p
	}
	code := m.run(firstClient(), pre)
	m.awaitCLIs() // their clients get their status; our user namespace stays meanwhile
	os.Exit(code)
}

// firstClient is the spawner's end of the socketpair on fd 3, if any.
func firstClient() *client {
	if _, err := unix.FcntlInt(monitor.ClientFd, unix.F_GETFD, 0); err != nil {
		return nil
	}
	f := os.NewFile(monitor.ClientFd, "client")
	defer f.Close() // FileConn dups it
	c, err := net.FileConn(f)
	if err != nil {
		return nil
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil
	}
	return &client{conn: uc}
}

type server struct {
	root, runRoot, id string
	store             container.Store

	mu      sync.Mutex
	clients map[*client]struct{}
	started chan struct{} // closed once the container first runs: clients' input is read from then on
	stdin   *os.File      // the container's stdin (pipe or pty master); nil between runs
	pty     *os.File
	pid     int
	winsize *unix.Winsize // last size a client asked for, applied to each new pty

	log     *logfile.Writer
	pending *prestarted    // the init started before Go, until the first start takes it
	trimmed bool           // dropText ran
	term    chan os.Signal // SIGTERM cuts a restart back-off short (stop, rm -f)

	clis    sync.WaitGroup // CLIs run for clients (cli_linux.go)
	exiting bool           // no more of them: we are about to exit
}

type client struct {
	conn *net.UnixConn
	wmu  sync.Mutex
}

func newMonitor(root, runRoot, id string) *server {
	m := &server{root: root, runRoot: runRoot, id: id, store: container.Store{Root: root, RunRoot: runRoot}, clients: map[*client]struct{}{}, started: make(chan struct{})}
	// The monitor outlives the terminal that started it: SIGHUP and SIGINT
	// must not kill it, SIGPIPE from a vanished client neither.
	m.term = make(chan os.Signal, 1)
	signal.Notify(m.term, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	signal.Ignore(unix.SIGPIPE)
	return m
}

// run starts the container, restarting it as its policy says, and returns
// once it is done for good: record written, --rm applied, clients told.
// With pre (run's first start) the init is started before the record
// exists, and gets its config once the first client says Go.
func (m *server) run(first *client, pre *monitor.Prestart) int {
	if first != nil {
		m.clients[first] = struct{}{}
	}
	// With -D, our marks and the init's go to the attached clients (our
	// stderr is /dev/null); the first client is the CLI that spawned us.
	timeline.JoinFromEnv(func(mark string) { m.broadcast(attach.Mark, []byte(mark)) })
	if first != nil && pre != nil {
		// First, before even our socket: the init's start-up is the
		// longest step of a run. A failure here is met again, and
		// reported, by the start after Go, which then takes the
		// ordinary path.
		m.pending, _ = prestart(m.id, *pre)
	}
	ln, err := attach.Listen(state.SocketPath(m.runRoot, m.id))
	if err != nil {
		m.fail(nil, 125, err)
		return 125
	}
	defer func() {
		ln.Close()
		os.Remove(state.SocketPath(m.runRoot, m.id))
	}()
	go m.accept(ln)
	if first != nil {
		if !awaitGo(first) {
			m.pending.abort()
			// Our spawner gave up (or died) before saying the record is
			// complete: a run whose image was missing leaves only our run
			// directory; a create's directory stays (removed by its own
			// failure, or debris for the next create's sweep), and a
			// record that exists stays as it is ("created").
			state.RemoveAbandoned(m.root, m.runRoot, m.id)
			return 0
		}
		timeline.Mark("go")
		go m.serve(first)
	}
	if m.log, err = logfile.NewWriter(state.LogPath(m.root, m.id)); err != nil {
		m.fail(nil, 125, err)
		return 125
	}
	delay := backoff{}
	for {
		c, err := m.store.Load(m.id)
		if err != nil {
			m.fail(nil, 125, err) // removed under us (rm -f won)
			return 125
		}
		began := time.Now()
		code, err := m.once(c)
		if err != nil {
			m.fail(c, code, err)
			return code
		}
		testPause("before-exit-record")
		rec, err := state.Load(m.root, m.id)
		if err != nil || !shouldRestart(rec, code) {
			return m.finish(c, code)
		}
		if err := m.recordRestarting(code, c.OOMKilled(code), rec); err != nil {
			return m.finish(c, code)
		}
		m.broadcastExit(code)
		c.DetachNetwork()
		if !m.sleep(delay.next(time.Since(began))) {
			return m.finish(c, code)
		}
		if rec, err = state.Load(m.root, m.id); err != nil || rec.ManuallyStopped {
			return m.finish(c, code)
		}
	}
}

// awaitGo waits for the first client's Go (container.Go): until then the
// record may not exist. Anything else, or the client's close, is false.
func awaitGo(first *client) bool {
	f, err := attach.Read(first.conn)
	return err == nil && f.Kind == attach.Go
}

// once runs the container's process until it exits and its output is
// drained, and returns its exit status. A start failure returns docker's
// code (125/126/127) and the error.
func (m *server) once(c *container.Container) (int, error) {
	io, err := m.startInit(c)
	if err != nil {
		code := 125
		var se *run.StartError
		if errors.As(err, &se) {
			code = se.Code
		}
		return code, err
	}
	inW, outR, errR := io.inW, io.outR, io.errR
	pty := c.Pty()
	m.mu.Lock()
	m.pid, m.pty, m.stdin = c.Pid(), pty, inW
	if pty != nil {
		if c.State.Config.OpenStdin {
			m.stdin = pty
		}
		if m.winsize != nil {
			unix.IoctlSetWinsize(int(pty.Fd()), unix.TIOCSWINSZ, m.winsize)
		}
	}
	m.mu.Unlock()
	m.broadcast(attach.Started, attach.Uint32(uint32(c.Pid())))
	select {
	case <-m.started:
	default:
		close(m.started)
	}
	if !m.trimmed {
		m.trimmed = true
		dropText()
		time.AfterFunc(time.Second, dropText) // what start-up touched after this point
	}
	var copies sync.WaitGroup
	if pty != nil {
		m.copyOut(&copies, pty, "stdout", attach.Stdout)
	} else {
		m.copyOut(&copies, outR, "stdout", attach.Stdout)
		m.copyOut(&copies, errR, "stderr", attach.Stderr)
	}
	code := c.Wait()
	m.mu.Lock()
	m.pid = 0 // reaped: no signal may reach whoever gets the pid next
	m.mu.Unlock()
	timeline.Mark("exited")
	waitBounded(&copies, 5*time.Second)
	m.mu.Lock()
	m.pty, m.stdin = nil, nil
	m.mu.Unlock()
	closeFiles(inW, outR, errR, pty)
	return code, nil
}

// copyOut sends what the container writes on r to the log and to every
// attached client, until EOF (or EIO: a pty whose last slave closed).
func (m *server) copyOut(wg *sync.WaitGroup, r *os.File, stream string, kind attach.Kind) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				m.log.Write(stream, buf[:n])
				m.broadcast(kind, buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
}

// finish records the final exit (and applies --rm), then tells clients.
func (m *server) finish(c *container.Container, code int) int {
	m.log.Close()
	if err := c.Cleanup(code); err != nil {
		m.broadcast(attach.Stderr, []byte("skiff: monitor: "+err.Error()+"\n"))
	}
	timeline.Mark("recorded")
	m.broadcastExit(code)
	c.DetachNetwork() // the slow part, once nobody waits for it
	return 0
}

// fail reports a start failure to the clients and records it (--rm too).
func (m *server) fail(c *container.Container, code int, err error) {
	m.pending.abort()
	m.pending = nil
	if m.log != nil {
		m.log.Close()
	}
	if c != nil {
		c.Cleanup(code)
		c.DetachNetwork()
	}
	m.broadcast(attach.Error, attach.ErrorPayload(code, err.Error()))
	m.closeClients()
}

func (m *server) broadcastExit(code int) {
	m.broadcast(attach.Exit, attach.Uint32(uint32(int32(code))))
	m.closeClients()
}

// recordRestarting records an exit the restart policy will undo.
func (m *server) recordRestarting(code int, oomKilled bool, prev *state.Container) error {
	if cg, err := container.CgroupOf(prev); err == nil { // under its parent, or its delegation (rootless)
		cg.Delete()
	}
	l, err := state.LockContainer(m.runRoot, m.id)
	if err != nil {
		return err
	}
	defer l.Unlock()
	rec, err := state.Load(m.root, m.id)
	if err != nil {
		return err
	}
	rec.Status, rec.ExitCode, rec.FinishedAt = state.Restarting, code, time.Now().UTC()
	rec.Pid, rec.PidStartTime, rec.Orphaned, rec.Network = 0, 0, false, nil
	rec.OOMKilled = oomKilled // docker shows it while the restart waits
	rec.RestartCount++
	return state.Save(m.root, rec)
}

// sleep waits out a back-off; false if SIGTERM (stop, rm -f) cut it short.
func (m *server) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case s := <-m.term:
			if s == unix.SIGTERM {
				return false
			}
		}
	}
}

func (m *server) accept(ln *net.UnixListener) {
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		cl := &client{conn: conn}
		m.mu.Lock()
		m.clients[cl] = struct{}{}
		m.mu.Unlock()
		go m.serve(cl)
	}
}

// serve reads a client's frames. A first frame that is a request of its
// own (RunCLI, Kill) is served at once, whether or not the container runs;
// an attached client's input waits until the container first runs, so
// stdin and signals sent early are neither lost nor misdirected.
func (m *server) serve(cl *client) {
	defer m.drop(cl)
	f, files, err := attach.ReadFiles(cl.conn, cliFiles)
	if err != nil || m.request(cl, f, files) {
		return
	}
	closeFiles(files...) // none belong with an attached client's frames
	<-m.started
	for ; err == nil; f, err = attach.Read(cl.conn) {
		switch f.Kind {
		case attach.Stdin:
			if w := m.input(); w != nil {
				w.Write(f.Payload)
			}
		case attach.CloseStdin:
			m.closeStdin()
		case attach.Resize:
			m.resize(f.Payload)
		case attach.Signal:
			if n, ok := attach.ParseUint32(f.Payload); ok {
				m.signalContainer(unix.Signal(n))
			}
		case attach.Detach:
			return
		}
	}
}

func (m *server) input() *os.File {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stdin
}

// closeStdin ends the container's input: a pipe closes; a pty has no
// half-close, so it gets the terminal's EOF character instead.
func (m *server) closeStdin() {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.stdin == nil:
	case m.stdin == m.pty:
		m.pty.Write([]byte{0x04})
	default:
		m.stdin.Close()
	}
	m.stdin = nil
}

func (m *server) resize(p []byte) {
	if len(p) != 4 {
		return
	}
	ws := &unix.Winsize{Row: uint16(p[0])<<8 | uint16(p[1]), Col: uint16(p[2])<<8 | uint16(p[3])}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.winsize = ws
	if m.pty != nil {
		unix.IoctlSetWinsize(int(m.pty.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// signalContainer signals the container's process (an attached client's
// sig-proxy, SignalContainer's Kill).
func (m *server) signalContainer(sig unix.Signal) error {
	if sig <= 0 || sig > 64 {
		return fmt.Errorf("invalid signal %d", sig)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// The pid is our child: it cannot be recycled before we reap it, and
	// once we have it is 0.
	if m.pid <= 0 {
		return errors.New("it is not running")
	}
	return unix.Kill(m.pid, sig)
}

// broadcast sends one frame to every client; one that cannot take it is
// dropped (the container runs on).
func (m *server) broadcast(k attach.Kind, p []byte) {
	m.mu.Lock()
	cls := make([]*client, 0, len(m.clients))
	for cl := range m.clients {
		cls = append(cls, cl)
	}
	m.mu.Unlock()
	for _, cl := range cls {
		cl.wmu.Lock()
		err := attach.Write(cl.conn, k, p)
		cl.wmu.Unlock()
		if err != nil {
			m.drop(cl)
		}
	}
}

func (m *server) drop(cl *client) {
	m.mu.Lock()
	delete(m.clients, cl)
	m.mu.Unlock()
	cl.conn.Close()
}

func (m *server) closeClients() {
	m.mu.Lock()
	cls := m.clients
	m.clients = map[*client]struct{}{}
	m.mu.Unlock()
	for cl := range cls {
		cl.conn.Close()
	}
}

func closeFiles(fs ...*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

// waitBounded waits for the output copies. Every process of the container
// dies with its pid 1, so the pipes reach EOF soon; the bound guards
// against a holder we do not know of.
func waitBounded(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// testPause lets the e2e suite kill -9 the monitor at a point otherwise
// too brief to hit (SKIFF_TEST_PAUSE=before-exit-record: the container's
// process is reaped, its exit not yet recorded).
func testPause(point string) {
	if os.Getenv("SKIFF_TEST_PAUSE") == point {
		time.Sleep(time.Minute)
	}
}
