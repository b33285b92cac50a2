package logfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// writeLog writes chunks through a Writer whose clock advances a second
// per Write, and returns the log's path.
func writeLog(t *testing.T, chunks [][2]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c-json.log")
	w, err := NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	tick := t0
	w.now = func() time.Time { return tick }
	for _, c := range chunks {
		if err := w.Write(c[0], []byte(c[1])); err != nil {
			t.Fatal(err)
		}
		tick = tick.Add(time.Second)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func entries(t *testing.T, path string) []Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Entry
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		var e Entry
		if err := json.Unmarshal(s.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", s.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

func TestWriter(t *testing.T) {
	long := strings.Repeat("x", maxLine+5)
	tests := []struct {
		name   string
		chunks [][2]string
		want   []string // stream:log
	}{
		{"lines", [][2]string{{"stdout", "a\nb\n"}}, []string{"stdout:a\n", "stdout:b\n"}},
		{"partial joined", [][2]string{{"stdout", "he"}, {"stdout", "llo\nwor"}, {"stdout", "ld\n"}}, []string{"stdout:hello\n", "stdout:world\n"}},
		{"partial per stream", [][2]string{{"stdout", "out"}, {"stderr", "err\n"}, {"stdout", "put\n"}}, []string{"stderr:err\n", "stdout:output\n"}},
		{"close flushes partial", [][2]string{{"stdout", "a\nno newline"}}, []string{"stdout:a\n", "stdout:no newline"}},
		{"long line split", [][2]string{{"stdout", long + "\n"}}, []string{"stdout:" + long[:maxLine], "stdout:xxxxx\n"}},
		{"empty", [][2]string{{"stdout", ""}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range entries(t, writeLog(t, tt.chunks)) {
				got = append(got, e.Stream+":"+e.Log)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %.80q, want %.80q", got, tt.want)
			}
		})
	}
}

func TestWriterFormat(t *testing.T) {
	path := writeLog(t, [][2]string{{"stdout", "hi\n"}})
	b, _ := os.ReadFile(path)
	want := `{"log":"hi\n","stream":"stdout","time":"2024-01-01T00:00:00.000000000Z"}` + "\n"
	if string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
}

func TestWriterAppends(t *testing.T) {
	path := writeLog(t, [][2]string{{"stdout", "one\n"}})
	w, err := NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	w.Write("stdout", []byte("two\n"))
	w.Close()
	if n := len(entries(t, path)); n != 2 {
		t.Errorf("%d entries after reopening, want 2 (a restarted container keeps its log)", n)
	}
}

func TestRead(t *testing.T) {
	// one entry a second from t0: a@0 b@1 (stderr) c@2 d@3
	path := writeLog(t, [][2]string{{"stdout", "a\n"}, {"stderr", "b\n"}, {"stdout", "c\n"}, {"stdout", "d\n"}})
	tests := []struct {
		name            string
		o               ReadOptions
		wantOut, wantEr string
	}{
		{"all", ReadOptions{Tail: -1}, "a\nc\nd\n", "b\n"},
		{"tail 2", ReadOptions{Tail: 2}, "c\nd\n", ""},
		{"tail 3", ReadOptions{Tail: 3}, "c\nd\n", "b\n"},
		{"tail 0", ReadOptions{Tail: 0}, "", ""},
		{"tail beyond", ReadOptions{Tail: 100}, "a\nc\nd\n", "b\n"},
		{"since", ReadOptions{Tail: -1, Since: t0.Add(2 * time.Second)}, "c\nd\n", ""},
		{"until", ReadOptions{Tail: -1, Until: t0.Add(time.Second)}, "a\n", "b\n"},
		{"since and until", ReadOptions{Tail: -1, Since: t0.Add(time.Second), Until: t0.Add(2 * time.Second)}, "c\n", "b\n"},
		{"timestamps", ReadOptions{Tail: 1, Timestamps: true}, "2024-01-01T00:00:03.000000000Z d\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, er bytes.Buffer
			if err := Read(path, tt.o, &out, &er); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.wantOut || er.String() != tt.wantEr {
				t.Errorf("stdout %q stderr %q, want %q %q", out.String(), er.String(), tt.wantOut, tt.wantEr)
			}
		})
	}
}

func TestReadMissingAndTorn(t *testing.T) {
	var out bytes.Buffer
	if err := Read(filepath.Join(t.TempDir(), "none.log"), ReadOptions{Tail: -1}, &out, &out); err != nil || out.Len() != 0 {
		t.Errorf("missing log: %q, %v; want empty, nil", out.String(), err)
	}
	path := writeLog(t, [][2]string{{"stdout", "ok\n"}})
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"log":"torn`) // a writer killed mid-line
	f.Close()
	if err := Read(path, ReadOptions{Tail: -1}, &out, &out); err != nil || out.String() != "ok\n" {
		t.Errorf("torn log: %q, %v; want \"ok\\n\", nil", out.String(), err)
	}
}

// syncBuffer lets the test read what a following Read has printed so far.
type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

func TestFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	w, err := NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	w.Write("stdout", []byte("before\n"))
	var exited atomic.Bool
	out := &syncBuffer{mu: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- Read(path, ReadOptions{Tail: -1, Follow: true, Exited: exited.Load}, out, out)
	}()
	waitFor(t, func() bool { return out.String() == "before\n" })
	w.Write("stdout", []byte("live\n"))
	waitFor(t, func() bool { return out.String() == "before\nlive\n" })
	select {
	case err := <-done:
		t.Fatalf("follow ended while the container runs: %v", err)
	default:
	}
	// The last output lands just before the exit is seen: it must be printed.
	w.Write("stdout", []byte("last\n"))
	w.Close()
	exited.Store(true)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end after the container exited")
	}
	if got := out.String(); got != "before\nlive\nlast\n" {
		t.Errorf("followed %q", got)
	}
}

func TestFollowStop(t *testing.T) {
	path := writeLog(t, [][2]string{{"stdout", "x\n"}})
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Read(path, ReadOptions{Tail: -1, Follow: true, Exited: func() bool { return false }, Stop: stop}, &bytes.Buffer{}, &bytes.Buffer{})
	}()
	close(stop)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end on Stop")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("timed out")
}

func TestFollowUntil(t *testing.T) {
	path := writeLog(t, [][2]string{{"stdout", "x\n"}})
	done := make(chan error, 1)
	go func() {
		done <- Read(path, ReadOptions{Tail: -1, Follow: true, Exited: func() bool { return false }, Until: time.Now().Add(300 * time.Millisecond)}, &bytes.Buffer{}, &bytes.Buffer{})
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("follow with --until did not end after that time")
	}
}
