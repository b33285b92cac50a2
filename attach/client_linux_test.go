package attach

import (
	"errors"
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// pair is a client's end and the monitor's end of one connection.
func pair(t *testing.T) (client *net.UnixConn, monitor *net.UnixConn) {
	t.Helper()
	l, err := Listen(t.TempDir() + "/attach.sock")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := Dial(l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	m, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); m.Close() })
	return c, m
}

type frame struct {
	k Kind
	p []byte
}

// A session ends as the monitor's frames say: the exit code, a start
// failure's code and message, Started when detached, or no exit at all.
func TestSessionEnds(t *testing.T) {
	tests := []struct {
		name     string
		detach   bool
		frames   []frame
		wantCode int
		wantErr  string
		wantPid  int
	}{
		{"exit", false, []frame{{Started, Uint32(42)}, {Stdout, []byte("")}, {Exit, Uint32(uint32(int32(3)))}}, 3, "", 42},
		{"start failed", false, []frame{{Error, ErrorPayload(127, "not found")}}, 127, "not found", 0},
		{"detached once started", true, []frame{{Started, Uint32(7)}}, 0, "", 7},
		{"monitor gone", false, []frame{{Started, Uint32(9)}}, 125, ErrNoExit.Error(), 9},
		{"malformed exit", false, []frame{{Exit, []byte{1}}}, 125, ErrNoExit.Error(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, m := pair(t)
			go func() {
				for _, f := range tt.frames {
					Write(m, f.k, f.p)
				}
				m.Close()
			}()
			pid := 0
			s := &Session{Conn: c, Detach: tt.detach, OnStarted: func(p int) { pid = p }}
			code, err := s.Run()
			if code != tt.wantCode || (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
				t.Fatalf("Run() = %d, %v; want %d, %q", code, err, tt.wantCode, tt.wantErr)
			}
			if pid != tt.wantPid {
				t.Fatalf("OnStarted got pid %d, want %d", pid, tt.wantPid)
			}
		})
	}
}

// A session relays proxied signals as Signal frames.
func TestSessionSendsSignals(t *testing.T) {
	c, m := pair(t)
	sigs := make(chan os.Signal, 1)
	sigs <- unix.SIGUSR1
	s := &Session{Conn: c, SigProxy: true, Signals: sigs}
	done := make(chan error, 1)
	go func() { _, err := s.Run(); done <- err }()
	f, err := Read(m)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := ParseUint32(f.Payload); f.Kind != Signal || !ok || n != uint32(unix.SIGUSR1) {
		t.Fatalf("got frame %v %v, want Signal %d", f.Kind, f.Payload, unix.SIGUSR1)
	}
	m.Close()
	if err := <-done; !errors.Is(err, ErrNoExit) {
		t.Fatalf("Run() error %v, want ErrNoExit", err)
	}
}

func TestAwaitExit(t *testing.T) {
	c, m := pair(t)
	minusOne := int32(-1)
	go func() {
		Write(m, Stdout, []byte("out"))
		Write(m, Exit, Uint32(uint32(minusOne)))
	}()
	if code, ok := AwaitExit(c); !ok || code != -1 {
		t.Fatalf("AwaitExit() = %d, %v; want -1, true", code, ok)
	}
	m.Close()
	if _, ok := AwaitExit(c); ok {
		t.Fatal("AwaitExit() found an exit on a closed connection")
	}
}
