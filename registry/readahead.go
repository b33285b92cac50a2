package registry

import (
	"errors"
	"io"
	"sync"
)

// readahead reads src in its own goroutine, passing each chunk through tee
// (hashes, the blob file, progress) before handing it on. Download, hashing
// and decompression then overlap instead of taking turns on one goroutine.
type readahead struct {
	chunks chan []byte
	free   chan []byte
	done   chan struct{}
	exited chan struct{}
	once   sync.Once
	buf    []byte // the chunk being read, whole
	cur    []byte // its unread rest
	err    error  // set by the goroutine before chunks closes
}

const (
	chunkSize  = 256 << 10
	chunkDepth = 8
)

func newReadahead(src io.Reader, tee io.Writer) *readahead {
	ra := &readahead{
		chunks: make(chan []byte, chunkDepth),
		free:   make(chan []byte, chunkDepth+2),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	for range chunkDepth + 2 {
		ra.free <- make([]byte, chunkSize)
	}
	go ra.fill(src, tee)
	return ra
}

func (ra *readahead) fill(src io.Reader, tee io.Writer) {
	defer close(ra.exited)
	defer close(ra.chunks)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.done:
			ra.err = errAborted
			return
		}
		n, err := fill(src, buf)
		if n > 0 {
			if _, werr := tee.Write(buf[:n]); werr != nil {
				ra.err = werr
				return
			}
			select {
			case ra.chunks <- buf[:n]:
			case <-ra.done:
				ra.err = errAborted
				return
			}
		}
		if err != nil {
			ra.err = err
			return
		}
	}
}

func (ra *readahead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.buf != nil {
			ra.free <- ra.buf[:cap(ra.buf)]
			ra.buf = nil
		}
		buf, ok := <-ra.chunks
		if !ok {
			return 0, ra.err
		}
		ra.buf, ra.cur = buf, buf
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

var errAborted = errors.New("read aborted")

// Close stops the goroutine and waits for it, so nothing reads src (or
// writes tee) afterwards. It does not close src: a goroutine stuck in
// src.Read returns only once the caller has closed what src reads from.
func (ra *readahead) Close() error {
	ra.once.Do(func() { close(ra.done) })
	<-ra.exited
	return nil
}

// fill reads until buf is full or src fails; unlike io.ReadFull it passes
// src's own io.ErrUnexpectedEOF (a truncated body) through unchanged.
func fill(src io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := src.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
