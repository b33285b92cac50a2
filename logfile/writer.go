package logfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// maxLine is docker's json-file buffer: a line longer than this is written
// in pieces, each its own entry without a trailing newline, so a process
// that never prints a newline cannot grow the monitor without bound.
const maxLine = 16 * 1024

// timeFormat keeps nine fractional digits so entries sort as text and line
// up in `logs -t`, as docker's RFC3339NanoFixed.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// Entry is one line of a json-file log.
type Entry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// Writer appends a container's output to its log. It is safe for the
// monitor's stdout and stderr copiers to use at once.
type Writer struct {
	mu      sync.Mutex
	f       *os.File
	partial map[string][]byte // per stream: bytes after the last newline
	now     func() time.Time
	buf     bytes.Buffer
}

// NewWriter opens (creating, appending to) the log at path. No fsync: the
// page cache outlives a killed monitor, which is the fault that matters.
func NewWriter(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640) // O_CLOEXEC by Go
	if err != nil {
		return nil, fmt.Errorf("container log: %w", err)
	}
	return &Writer{f: f, partial: map[string][]byte{}, now: time.Now}, nil
}

// Write logs p as output of stream ("stdout" or "stderr"): every complete
// line becomes one entry; a trailing partial line waits for its newline,
// or for Close.
func (w *Writer) Write(stream string, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	now := w.now()
	w.buf.Reset()
	pend := w.partial[stream]
	for len(p) > 0 {
		seg, complete := p, false
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			seg, complete = p[:i+1], true
		}
		p = p[len(seg):]
		if complete && len(pend) == 0 && len(seg) <= maxLine {
			w.encode(stream, seg, now)
			continue
		}
		pend = append(pend, seg...)
		for len(pend) > maxLine || (len(pend) == maxLine && !complete) {
			w.encode(stream, pend[:maxLine], now)
			pend = pend[maxLine:]
		}
		if complete {
			w.encode(stream, pend, now)
			pend = pend[:0]
		}
	}
	w.partial[stream] = append(w.partial[stream][:0], pend...)
	return w.flush()
}

// Close writes any partial lines as entries without a newline and closes
// the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	w.buf.Reset()
	now := w.now()
	for _, s := range []string{"stdout", "stderr"} {
		if len(w.partial[s]) > 0 {
			w.encode(s, w.partial[s], now)
		}
		delete(w.partial, s)
	}
	for s, p := range w.partial {
		if len(p) > 0 {
			w.encode(s, p, now)
		}
	}
	err := w.flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	return err
}

func (w *Writer) encode(stream string, line []byte, t time.Time) {
	b, _ := json.Marshal(struct {
		Log    string `json:"log"`
		Stream string `json:"stream"`
		Time   string `json:"time"`
	}{string(line), stream, t.UTC().Format(timeFormat)})
	w.buf.Write(b)
	w.buf.WriteByte('\n')
}

// flush issues one write per Write call: with O_APPEND a reader never sees
// a line torn between two writes.
func (w *Writer) flush() error {
	if w.buf.Len() == 0 {
		return nil
	}
	if _, err := w.f.Write(w.buf.Bytes()); err != nil {
		return fmt.Errorf("container log: %w", err)
	}
	return nil
}
