package timeline

// One clock for every process of a run: CLOCK_MONOTONIC, which all
// processes of a host share (skiff makes no time namespace). The CLI's
// start on it is the origin; the CLI exports it in Env for the monitor it
// spawns, and the start path sends it to the init or exec'd process
// (run's msgTimeline). Only the CLI writes to its stderr: the monitor's
// stderr is /dev/null and the init's is the container's, so their marks
// travel back to the CLI through a Sink.
//
// Off, a mark costs one branch on a bool: no allocation, no syscall, and
// the package has no init work.

import (
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Env names the environment variable that carries the CLI's start (ns on
// CLOCK_MONOTONIC) to the monitor: set, the monitor marks its phases.
const Env = "SKIFF_DEBUG_START"

// Sink takes one mark, "<process> <phase> <ms>" (no prefix, no newline),
// toward the CLI's stderr.
type Sink func(mark string)

var (
	on      bool
	origin  int64 // the CLI's start, ns on CLOCK_MONOTONIC
	process string
	sink    Sink
)

// Enabled reports whether this process marks its phases.
func Enabled() bool { return on }

// Origin is the CLI's start, ns on CLOCK_MONOTONIC; 0 when marks are off.
func Origin() int64 { return origin }

// StartCLI turns marks on in the CLI (docker's -D): the origin is this
// process's start, exported in Env for the monitor, and marks go to stderr.
// It marks "start". A CLI that a rootless CLI re-executed in its user
// namespace finds Env set and keeps that origin: one clock for the run.
func StartCLI() {
	start := goStart()
	if v, err := strconv.ParseInt(os.Getenv(Env), 10, 64); err == nil && v > 0 && v <= start {
		start = v
	}
	os.Setenv(Env, strconv.FormatInt(start, 10))
	Join(start, "cli", printMark)
}

// JoinFromEnv turns marks on in the monitor when the CLI that spawned it
// had them on (Env is set); marks go to s.
func JoinFromEnv(s Sink) {
	if v := os.Getenv(Env); v != "" {
		if start, err := strconv.ParseInt(v, 10, 64); err == nil {
			Join(start, "monitor", s)
		}
	}
}

// Join turns marks on in a process the CLI started, with the CLI's start
// as origin, this process's name in its marks, and s as where they go. It
// marks "start": this process's own start, which already happened.
func Join(start int64, name string, s Sink) {
	on, origin, process, sink = true, start, name, s
	// goStart reads two clocks one after the other, so two calls differ by
	// a few microseconds: the CLI's own start, read again, could print as
	// -0.03 ms. No process of a run starts before the CLI.
	mark("start", max(goStart(), start))
}

// Stop turns marks off again: for tests, which share one process.
func Stop() { on, origin, process, sink = false, 0, "", nil }

// Mark records that this process reached phase now (a short, stable name).
func Mark(phase string) {
	if !on {
		return
	}
	mark(phase, now())
}

// Relay passes on a mark another process made (the init's, received by
// the monitor; the monitor's, received by the CLI).
func Relay(m string) {
	if on {
		sink(m)
	}
}

func mark(phase string, at int64) {
	ms := strconv.FormatFloat(float64(at-origin)/1e6, 'f', 2, 64)
	sink(process + " " + phase + " " + ms)
}

// printMark is the CLI's sink: one write per line, so marks of several
// goroutines never interleave.
func printMark(m string) { os.Stderr.WriteString("skiff: debug: " + m + "\n") }

func now() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// goStart is this process's start on CLOCK_MONOTONIC as the Go runtime saw
// it: time's monotonic readings count from time's package init, which
// runs before nearly every other package's (the time a process spends in
// package inits is part of what -D shows). time.Time's String prints that
// reading as its documented "m=±<seconds>" field; without it, now.
func goStart() int64 {
	n, s := now(), time.Now().String()
	i := strings.LastIndex(s, " m=")
	if i < 0 {
		return n
	}
	secs, err := strconv.ParseFloat(s[i+3:], 64)
	if err != nil {
		return n
	}
	return n - int64(secs*1e9)
}
