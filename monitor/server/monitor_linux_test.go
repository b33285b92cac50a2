package server

import (
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/attach"
)

// pair returns a monitor-side client and the peer a CLI would hold.
func pair(t *testing.T) (*client, *net.UnixConn) {
	t.Helper()
	fds, err := socketpair()
	if err != nil {
		t.Fatal(err)
	}
	return &client{conn: fds[0]}, fds[1]
}

func socketpair() ([2]*net.UnixConn, error) {
	var out [2]*net.UnixConn
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: "", Net: "unix"})
	if err != nil {
		return out, err
	}
	defer l.Close()
	done := make(chan *net.UnixConn, 1)
	go func() {
		c, _ := l.AcceptUnix()
		done <- c
	}()
	c, err := net.DialUnix("unix", nil, l.Addr().(*net.UnixAddr))
	if err != nil {
		return out, err
	}
	out[0], out[1] = <-done, c
	return out, nil
}

// A client's stdin frames reach the container's stdin pipe in order, and
// CloseStdin ends it; frames sent before the container ran are kept.
func TestServeStdin(t *testing.T) {
	m := newMonitor(t.TempDir(), t.TempDir(), "x")
	cl, peer := pair(t)
	defer peer.Close()
	m.clients[cl] = struct{}{}
	go m.serve(cl)
	for _, p := range []string{"hello ", "world"} {
		if err := attach.Write(peer, attach.Stdin, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	attach.Write(peer, attach.CloseStdin, nil)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m.mu.Lock()
	m.stdin = w
	m.mu.Unlock()
	close(m.started)

	got := make(chan string, 1)
	go func() { b, _ := io.ReadAll(r); got <- string(b) }()
	select {
	case s := <-got:
		if s != "hello world" {
			t.Fatalf("container stdin got %q, want %q", s, "hello world")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stdin never reached EOF after CloseStdin")
	}
}

// Output goes to every client; a client that went away is dropped and the
// others still get everything.
func TestBroadcastDropsGoneClients(t *testing.T) {
	m := newMonitor(t.TempDir(), t.TempDir(), "x")
	a, peerA := pair(t)
	b, peerB := pair(t)
	defer peerA.Close()
	m.clients[a] = struct{}{}
	m.clients[b] = struct{}{}
	peerB.Close()
	for i := 0; i < 3; i++ { // the first write to a closed peer may still succeed
		m.broadcast(attach.Stdout, []byte("out"))
	}
	m.mu.Lock()
	_, stillB := m.clients[b]
	m.mu.Unlock()
	if stillB {
		t.Fatal("a closed client was not dropped")
	}
	for i := 0; i < 3; i++ {
		f, err := attach.Read(peerA)
		if err != nil || f.Kind != attach.Stdout || string(f.Payload) != "out" {
			t.Fatalf("frame %d: %+v, %v", i, f, err)
		}
	}
}
