package logfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// ReadOptions select and shape what Read prints, as docker logs' flags.
type ReadOptions struct {
	Tail       int       // last Tail entries only; -1 for all
	Since      time.Time // zero: from the start
	Until      time.Time // zero: to the end
	Timestamps bool      // prefix each line with its time
	Follow     bool      // keep printing new entries until Exited or Stop
	// Exited reports that no more output can come (the container has
	// exited and its monitor is gone). Follow drains the file once more
	// after it first says so, then returns.
	Exited func() bool
	Stop   <-chan struct{} // closed to end a follow early
}

// pollInterval bounds how late a follow notices Exited or Stop.
const pollInterval = 200 * time.Millisecond

// Read prints the log at path to stdout and stderr by stream. A missing
// log (a container never started) is empty.
func Read(path string, o ReadOptions, stdout, stderr io.Writer) error {
	f, err := openLog(path, o)
	if err != nil || f == nil {
		return err
	}
	defer f.Close()
	if o.Tail >= 0 {
		off, err := tailOffset(f, o.Tail)
		if err != nil {
			return fmt.Errorf("read log %s: %w", path, err)
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return fmt.Errorf("read log %s: %w", path, err)
		}
	}
	p := &printer{o: o, out: stdout, err: stderr}
	r := bufio.NewReaderSize(f, 64*1024)
	if !o.Follow {
		_, err := p.drain(r)
		return err
	}
	w := newWatch(path)
	defer w.close()
	for last := false; ; {
		if stop, err := p.drain(r); stop || err != nil {
			return err
		}
		if last {
			return nil
		}
		// --until ends a follow at that time, as docker's; Exited ends it
		// after one more drain.
		last = (o.Exited != nil && o.Exited()) || (!o.Until.IsZero() && time.Now().After(o.Until))
		if !last && !w.wait(o.Stop) {
			return nil
		}
	}
}

// openLog opens the log; when following a log not yet written, it waits
// for the file to appear or for the container to be gone.
func openLog(path string, o ReadOptions) (*os.File, error) {
	for {
		f, err := os.Open(path)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read log: %w", err)
		}
		if !o.Follow || o.Exited == nil || o.Exited() {
			return nil, nil
		}
		select {
		case <-o.Stop:
			return nil, nil
		case <-time.After(pollInterval):
		}
	}
}

// tailOffset is where the last n lines of f begin, found by reading
// backwards so a long log is not decoded to print its end.
func tailOffset(f *os.File, n int) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := st.Size()
	if n == 0 {
		return end, nil
	}
	buf := make([]byte, 64*1024)
	pos := end
	skipLast := true // the log's final newline ends the last line, it does not start one
	for pos > 0 {
		sz := int64(len(buf))
		if pos < sz {
			sz = pos
		}
		pos -= sz
		b := buf[:sz]
		if _, err := f.ReadAt(b, pos); err != nil {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' {
				skipLast = false
				continue
			}
			if skipLast {
				skipLast = false
				continue
			}
			if n--; n == 0 {
				return pos + int64(i) + 1, nil
			}
		}
	}
	return 0, nil
}

// printer decodes entries and prints those the options select.
type printer struct {
	o        ReadOptions
	out, err io.Writer
	pending  []byte // a line read before its writer finished it
}

// drain prints every complete entry up to EOF; stop says Until has passed.
func (p *printer) drain(r *bufio.Reader) (stop bool, err error) {
	for {
		line, rerr := r.ReadSlice('\n')
		if rerr == bufio.ErrBufferFull || (rerr == io.EOF && len(line) > 0) {
			p.pending = append(p.pending, line...)
			if rerr == io.EOF {
				return false, nil
			}
			continue
		}
		if rerr == io.EOF {
			return false, nil
		}
		if rerr != nil {
			return false, fmt.Errorf("read log: %w", rerr)
		}
		if len(p.pending) > 0 {
			line = append(p.pending, line...)
			p.pending = p.pending[:0]
		}
		if stop, err := p.print(line); stop || err != nil {
			return stop, err
		}
	}
}

func (p *printer) print(line []byte) (stop bool, err error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return false, nil
	}
	var e Entry
	if err := json.Unmarshal(line, &e); err != nil {
		return false, nil // a line torn by a crash: skip it as docker does
	}
	if !p.o.Since.IsZero() && e.Time.Before(p.o.Since) {
		return false, nil
	}
	if !p.o.Until.IsZero() && e.Time.After(p.o.Until) {
		return true, nil
	}
	w := p.out
	if e.Stream == "stderr" {
		w = p.err
	}
	if p.o.Timestamps {
		if _, err := io.WriteString(w, e.Time.UTC().Format(timeFormat)+" "); err != nil {
			return true, err
		}
	}
	_, err = io.WriteString(w, e.Log)
	return err != nil, err
}
