package registry

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/skiff-dev/skiff/internal/units"
)

// progress prints docker's pull output: on a terminal of known width one
// redrawn line per layer with a bar, otherwise one plain line per status
// change.
//
// A redraw moves the cursor up one row per layer, so a layer line must never
// wrap: each is fitted to the terminal's width, read again at every redraw so
// a resize during the pull is followed. A terminal whose size is unknown (0
// columns, as a fresh pty reports) gets the plain lines: cursor movement
// cannot be right when line lengths cannot be checked.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	cols  func() int // the terminal's width now; 0 for no terminal or an unknown size
	ids   []string
	lines map[string]*line
	drawn int // rows of the block on screen, where the cursor goes back up to
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
	p := &progress{w: w, lines: map[string]*line{}, cols: func() int { return 0 }}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.cols = func() int { return terminalWidth(f) }
	}
	return p
}

func terminalWidth(f *os.File) int {
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil || w < 0 {
		return 0
	}
	return w
}

// printf writes a line below the layer block, which stops being redrawn.
func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cols := p.cols(); cols > 0 {
		p.redraw(cols)
	}
	p.ids, p.lines, p.drawn = nil, map[string]*line{}, 0
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
	if !transferring(status) {
		l.cur = 0
	}
	if cols := p.cols(); cols > 0 {
		p.redraw(cols)
		return
	}
	// Plain lines: what is on screen is no block to move back over.
	p.drawn = 0
	fmt.Fprintf(p.w, "%s: %s\n", id, status)
}

// add counts downloaded bytes of a layer.
func (p *progress) add(id string, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.lines[id]; l != nil {
		l.cur += int64(n)
	}
	if time.Since(p.last) <= 100*time.Millisecond {
		return
	}
	if cols := p.cols(); cols > 0 {
		p.redraw(cols)
	}
}

// redraw moves the cursor back over the block and rewrites it, each line
// fitted to cols so that it takes exactly one row.
func (p *progress) redraw(cols int) {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	for _, id := range p.ids {
		l := p.lines[id]
		b.WriteString("\x1b[2K" + fitLine(id, l, cols) + "\n")
	}
	p.drawn = len(p.ids)
	p.last = time.Now()
	io.WriteString(p.w, b.String())
}

// fitLine is a layer's line for a terminal cols wide. Like docker it drops
// the bar before anything else, then the sizes; what still does not fit is
// cut. It stays off the last column: some terminals wrap as soon as it is
// written, which would put the line on two rows.
func fitLine(id string, l *line, cols int) string {
	text := id + ": " + l.status
	room := cols - 1
	if transferring(l.status) {
		for _, full := range []string{text + "  " + bar(l.cur, l.total), text + "  " + sizes(l.cur, l.total)} {
			if utf8.RuneCountInString(full) <= room {
				return full
			}
		}
	}
	return cut(text, room)
}

// transferring is a status whose line carries a bar: a pull's download, a
// push's upload.
func transferring(status string) bool { return status == "Downloading" || status == "Pushing" }

// cut keeps the first n runes of s.
func cut(s string, n int) string {
	if n <= 0 {
		return ""
	}
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// bar is docker's "[=====>      ]  1.2MB/4MB".
func bar(cur, total int64) string {
	const width = 50
	if total <= 0 {
		return units.HumanSize(cur)
	}
	n := int(float64(width) * float64(cur) / float64(total))
	n = min(max(n, 0), width)
	return fmt.Sprintf("[%s>%s]  %s", strings.Repeat("=", n), strings.Repeat(" ", width-n), sizes(cur, total))
}

// sizes is "1.2MB/4MB", or only what came when the total is unknown.
func sizes(cur, total int64) string {
	if total <= 0 {
		return units.HumanSize(cur)
	}
	return units.HumanSize(cur) + "/" + units.HumanSize(total)
}

// counter feeds transferred bytes to the progress display.
type counter struct {
	p  *progress
	id string
}

func (c counter) Write(b []byte) (int, error) {
	c.p.add(c.id, int64(len(b)))
	return len(b), nil
}
