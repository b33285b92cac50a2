package pull

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress prints docker's pull output: on a terminal one redrawn line per
// layer with a bar, otherwise one plain line per status change.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	ids   []string
	lines map[string]*line
	drawn int
	last  time.Time
}

type line struct {
	status     string
	cur, total int64
}

func newProgress(w io.Writer, quiet bool) *progress {
	if quiet || w == nil {
		w = io.Discard
	}
	p := &progress{w: w, lines: map[string]*line{}}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

// printf writes a line below the layer block, which stops being redrawn.
func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.redraw()
		p.ids, p.lines, p.drawn = nil, map[string]*line{}, 0
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// set changes a layer's status.
func (p *progress) set(id, status string, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.lines[id]
	if !ok {
		l = &line{}
		p.lines[id] = l
		p.ids = append(p.ids, id)
	}
	l.status, l.total = status, total
	if status != "Downloading" {
		l.cur = 0
	}
	if p.tty {
		p.redraw()
		return
	}
	fmt.Fprintf(p.w, "%s: %s\n", id, status)
}

// add counts downloaded bytes of a layer.
func (p *progress) add(id string, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.lines[id]; l != nil {
		l.cur += int64(n)
	}
	if p.tty && time.Since(p.last) > 100*time.Millisecond {
		p.redraw()
	}
}

// redraw moves the cursor back over the block and rewrites it.
func (p *progress) redraw() {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	for _, id := range p.ids {
		l := p.lines[id]
		fmt.Fprintf(&b, "\x1b[2K%s: %s", id, l.status)
		if l.status == "Downloading" {
			b.WriteString("  " + bar(l.cur, l.total))
		}
		b.WriteByte('\n')
	}
	p.drawn = len(p.ids)
	p.last = time.Now()
	io.WriteString(p.w, b.String())
}

// bar is docker's "[=====>      ]  1.2MB/4MB".
func bar(cur, total int64) string {
	const width = 50
	if total <= 0 {
		return humanSize(cur)
	}
	n := int(float64(width) * float64(cur) / float64(total))
	n = min(max(n, 0), width)
	return fmt.Sprintf("[%s>%s]  %s/%s", strings.Repeat("=", n), strings.Repeat(" ", width-n), humanSize(cur), humanSize(total))
}

// humanSize is docker's decimal size with 4 significant digits ("1.234MB").
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.4g%s", f, units[i])
}

// counter feeds downloaded bytes to the progress display.
type counter struct {
	p  *progress
	id string
}

func (c counter) Write(b []byte) (int, error) {
	c.p.add(c.id, int64(len(b)))
	return len(b), nil
}
