package run

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/seccomp"
)

func testSyncPair(t *testing.T) (syncSocket, syncSocket) {
	t.Helper()
	a, b, err := syncPair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return syncSocket(a.Fd()), syncSocket(b.Fd())
}

// What a reader accepts, and what a confused or hostile peer cannot make
// it accept: a file on any message but msgPty, a payload over the bound.
func TestSyncRecv(t *testing.T) {
	tests := []struct {
		name    string
		kind    msgKind
		payload string
		withFd  bool
		max     int
		wantErr string // "" for a message
	}{
		{name: "config", kind: msgConfig, payload: `{"user":"x"}`, max: maxConfigSize},
		{name: "go", kind: msgGo, max: 0},
		{name: "pty with its master", kind: msgPty, withFd: true, max: maxReplySize},
		{name: "file on another kind", kind: msgError, payload: `{}`, withFd: true, max: maxReplySize, wantErr: "error message carried an unexpected file descriptor"},
		{name: "over the bound", kind: msgConfig, payload: "0123456789", max: 4, wantErr: "message larger than 4 bytes"},
		{name: "go with a payload", kind: msgGo, payload: "x", max: 0, wantErr: "message larger than 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, r := testSyncPair(t)
			fd := -1
			if tt.withFd {
				f, err := os.Open(os.DevNull)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				fd = int(f.Fd())
			}
			if err := w.send(tt.kind, []byte(tt.payload), fd); err != nil {
				t.Fatal(err)
			}
			m, err := r.recv(tt.max)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("recv = %+v, %v; want error %q", m, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.kind != tt.kind || string(m.payload) != tt.payload || (m.fd != nil) != tt.withFd {
				t.Fatalf("recv = %s %q fd %v; want %s %q fd %v", m.kind, m.payload, m.fd, tt.kind, tt.payload, tt.withFd)
			}
			if m.fd != nil {
				if fl, _ := unix.FcntlInt(m.fd.Fd(), unix.F_GETFD, 0); fl&unix.FD_CLOEXEC == 0 {
					t.Error("the received file is not close-on-exec")
				}
				m.fd.Close()
			}
		})
	}
}

// EOF is the transport's own signal (the child exec'd), never a message.
func TestSyncEOF(t *testing.T) {
	a, b, err := syncPair()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	w := syncSocket(a.Fd())
	if err := w.send(msgGo, nil, -1); err != nil {
		t.Fatal(err)
	}
	a.Close()
	r := syncSocket(b.Fd())
	if m, err := r.recv(0); err != nil || m.kind != msgGo {
		t.Fatalf("first recv = %+v, %v; want go", m, err)
	}
	if _, err := r.recv(0); err != io.EOF {
		t.Fatalf("recv after close = %v, want io.EOF", err)
	}
}

// The parent's reading of the child's replies: EOF is success, msgError a
// *StartError with docker's code, anything else an error.
func TestAwaitExec(t *testing.T) {
	tests := []struct {
		name     string
		goFirst  bool // the parent's msgGo waits unread in the child's queue
		send     func(syncSocket)
		wantCode int    // of the *StartError; 0: none
		wantErr  string // substring of any error
	}{
		{name: "exec'd", send: func(syncSocket) {}},
		{name: "failed", send: func(s syncSocket) { s.sendJSON(msgError, InitResult{Code: 127, Msg: "not found"}) },
			wantCode: 127, wantErr: "not found"},
		{name: "failed without a code", send: func(s syncSocket) { s.sendJSON(msgError, InitResult{Msg: "boom"}) },
			wantCode: 125, wantErr: "boom"},
		{name: "a parent's message back", send: func(s syncSocket) { s.send(msgGo, nil, -1) },
			wantErr: "container init sent an unexpected go message"},
		{name: "garbage", send: func(s syncSocket) { s.send(msgError, []byte("{"), -1) },
			wantErr: "container init sent a bad message"},
		{name: "marks, then exec'd", send: func(s syncSocket) { s.send(msgMark, []byte("init exec 9.00"), -1) }},
		{name: "marks, then failed", send: func(s syncSocket) {
			s.send(msgMark, []byte("init start 1.00"), -1)
			s.sendJSON(msgError, InitResult{Code: 126, Msg: "denied"})
		}, wantCode: 126, wantErr: "denied"},
		// A child that fails before it reads msgGo closes with data unread:
		// the kernel reports ECONNRESET to the parent before the child's
		// queued msgError, which must still be read.
		{name: "failed before reading go", goFirst: true, send: func(s syncSocket) {
			s.sendJSON(msgError, InitResult{Code: 127, Msg: "not found"})
		}, wantCode: 127, wantErr: "not found"},
		{name: "died before reading go", goFirst: true, send: func(syncSocket) {},
			wantErr: "connection reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b, err := syncPair()
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if tt.goFirst {
				if err := syncSocket(a.Fd()).send(msgGo, nil, -1); err != nil {
					t.Fatal(err)
				}
			}
			tt.send(syncSocket(b.Fd()))
			b.Close()
			cmd := exec.Command("true")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pty, err := awaitExec(syncSocket(a.Fd()), cmd)
			cmd.Wait()
			if pty != nil {
				t.Errorf("pty %v without a msgPty", pty)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("awaitExec = %v, want success", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("awaitExec = %v, want %q", err, tt.wantErr)
			}
			var se *StartError
			if got := errors.As(err, &se); got != (tt.wantCode != 0) || (got && se.Code != tt.wantCode) {
				t.Fatalf("awaitExec = %#v, want code %d", err, tt.wantCode)
			}
		})
	}
}

// With -D the parent sends msgTimeline before msgConfig; the child then
// sends its marks back as msgMark (never to its stderr, the container's),
// named by who and counted from the origin it was given.
func TestReadConfigJoinsTimeline(t *testing.T) {
	defer timeline.Stop()
	parent, child := testSyncPair(t)
	if err := parent.send(msgTimeline, binary.BigEndian.AppendUint64(nil, 1), -1); err != nil {
		t.Fatal(err)
	}
	if err := parent.sendJSON(msgConfig, ExecConfig{User: "x"}); err != nil {
		t.Fatal(err)
	}
	var cfg ExecConfig
	if err := readConfig(child, "exec", &cfg); err != nil || cfg.User != "x" {
		t.Fatalf("readConfig = %+v, %v; want user x", cfg, err)
	}
	for _, want := range []string{"exec start ", "exec config "} {
		m, err := parent.recv(maxReplySize)
		if err != nil || m.kind != msgMark || !strings.HasPrefix(string(m.payload), want) {
			t.Fatalf("parent got %s %q, %v; want a mark %q<ms>", m.kind, m.payload, err, want)
		}
	}
}

// Without -D nothing precedes msgConfig and the child sends no mark.
func TestReadConfigWithoutTimeline(t *testing.T) {
	parent, child := testSyncPair(t)
	if err := parent.sendJSON(msgConfig, ExecConfig{User: "y"}); err != nil {
		t.Fatal(err)
	}
	var cfg ExecConfig
	if err := readConfig(child, "exec", &cfg); err != nil || cfg.User != "y" {
		t.Fatalf("readConfig = %+v, %v; want user y", cfg, err)
	}
	if timeline.Enabled() {
		t.Fatal("marks turned on without msgTimeline")
	}
	if err := sendTimeline(parent); err != nil {
		t.Fatal(err)
	}
	unix.SetNonblock(int(child), true)
	if m, err := child.recv(maxConfigSize); err == nil {
		t.Fatalf("sendTimeline off sent a %s message", m.kind)
	}
}

// The filter travels raw as msgSeccomp before msgConfig and comes out as
// sent; a payload that is not flags plus whole instructions is refused.
func TestReadConfigFilter(t *testing.T) {
	parent, child := testSyncPair(t)
	sent := &ExecConfig{User: "z", Seccomp: &seccomp.Program{Flags: 2, Insns: []byte("12345678abcdefgh")}}
	if err := parent.sendFilter(sent); err != nil {
		t.Fatal(err)
	}
	if err := parent.sendJSON(msgConfig, sent); err != nil {
		t.Fatal(err)
	}
	var cfg ExecConfig
	if err := readConfig(child, "exec", &cfg); err != nil || cfg.User != "z" || cfg.Seccomp == nil ||
		cfg.Seccomp.Flags != 2 || string(cfg.Seccomp.Insns) != "12345678abcdefgh" {
		t.Fatalf("readConfig = %+v (filter %+v), %v; want the filter as sent", cfg, cfg.Seccomp, err)
	}
	if err := parent.sendFilter(&ExecConfig{}); err != nil {
		t.Fatal(err) // no filter: nothing sent
	}
	for _, bad := range [][]byte{nil, []byte("12345678"), []byte("12345678abc")} {
		if err := parent.send(msgSeccomp, bad, -1); err != nil {
			t.Fatal(err)
		}
		if err := readConfig(child, "exec", &cfg); err == nil {
			t.Errorf("a %d-byte msgSeccomp was accepted", len(bad))
		}
	}
}
