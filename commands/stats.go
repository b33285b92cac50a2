package commands

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/internal/procstat"
	"github.com/skiff-dev/skiff/state"
)

func init() { register(statsCommand) }

func statsCommand() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "display a live stream of container(s) resource usage statistics",
		ArgsUsage: "[CONTAINER...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all containers (default shows just running)"},
			&cli.StringFlag{Name: "format", Usage: `format output using a Go template ("table ..." adds a header; "json" one JSON object a line)`},
			&cli.BoolFlag{Name: "no-stream", Usage: "disable streaming stats and only pull the first result"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "do not truncate output"},
		},
		Action: statsAction,
	}
}

// statsInterval is the time between two samples: CPU % is the CPU time a
// container used over it. Every container is sampled at once, so
// --no-stream takes one interval however many there are (docker takes
// about two seconds per container, moby#40437).
const statsInterval = time.Second

// statsRow is one line of stats, with docker's --format field names
// (sorted as docker's {{json .}} writes them).
type statsRow struct {
	BlockIO, CPUPerc, Container, ID, MemPerc, MemUsage, Name, NetIO, PIDs string
}

const statsTable = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

var statsHeader = statsRow{BlockIO: "BLOCK I/O", CPUPerc: "CPU %", Container: "CONTAINER", ID: "CONTAINER ID",
	MemPerc: "MEM %", MemUsage: "MEM USAGE / LIMIT", Name: "NAME", NetIO: "NET I/O", PIDs: "PIDS"}

// statsTarget is a container shown, and what its CONTAINER column says:
// the name or id as given, else its id.
type statsTarget struct {
	ct *state.Container
	as string
}

// statsSample is one container's figures at one instant.
type statsSample struct {
	at     time.Time
	cg     cgroup.Stats
	rx, tx uint64 // network bytes received and sent, loopback aside
	up     bool
}

func statsAction(c *cli.Context) error {
	g, err := globals(c)
	if err != nil {
		return err
	}
	format := c.String("format")
	switch format {
	case "", "table":
		format = statsTable
	case "json":
		format = "{{json .}}"
	}
	names, noTrunc := c.Args().Slice(), c.Bool("no-trunc")
	targets := func() ([]statsTarget, error) { return statsTargets(g, names, c.Bool("all"), noTrunc) }
	ts, err := targets()
	if err != nil {
		printError(daemonError(err))
		return &ExitError{Code: 1}
	}
	prev := sampleAll(ts)
	hostMem := uint64(memTotal())
	for {
		if len(ts) > 0 || !c.Bool("no-stream") { // nothing to sample: the header at once
			time.Sleep(statsInterval)
		}
		// Containers start, stop and restart meanwhile (a new pid): the
		// records are read again; one removed meanwhile keeps its last.
		if next, err := targets(); err == nil {
			ts = next
		}
		cur := sampleAll(ts)
		rows := make([]statsRow, len(ts))
		for i, t := range ts {
			rows[i] = statsLine(t, prev[t.ct.ID], cur[t.ct.ID], hostMem, noTrunc)
		}
		if !c.Bool("no-stream") {
			fmt.Fprint(os.Stdout, "\033[2J\033[H") // docker's redraw: clear, cursor home
		}
		if err := printRows(os.Stdout, format, statsHeader, rows); err != nil {
			return &ExitError{Code: 1, Err: err}
		}
		if c.Bool("no-stream") {
			return nil
		}
		prev = cur
	}
}

// statsTargets are the containers named, or every running one (all of
// them with --all), newest first as docker lists them.
func statsTargets(g *Globals, names []string, all, noTrunc bool) ([]statsTarget, error) {
	var ts []statsTarget
	if len(names) > 0 {
		for _, n := range names {
			ct, err := g.Containers().Lookup(n)
			if err != nil {
				return nil, err
			}
			ts = append(ts, statsTarget{ct: ct, as: n})
		}
		return ts, nil
	}
	cs, err := g.Containers().List()
	if err != nil {
		return nil, err
	}
	for _, ct := range cs {
		if all || (ct.Status.Up() && !ct.Orphaned) {
			ts = append(ts, statsTarget{ct: ct, as: containerID(ct.ID, noTrunc)})
		}
	}
	return ts, nil
}

// sampleAll reads every container's figures, one after the other: reading
// is a few small files each, so the interval is what takes time.
func sampleAll(ts []statsTarget) map[string]statsSample {
	out := make(map[string]statsSample, len(ts))
	for _, t := range ts {
		out[t.ct.ID] = sampleOne(t.ct)
	}
	return out
}

// sampleOne reads a running container's cgroup and network counters; a
// container that is not running (or stops meanwhile) has none.
func sampleOne(ct *state.Container) statsSample {
	if !ct.Status.Up() || ct.Orphaned || !sameProcess(ct.Pid, ct.PidStartTime) {
		return statsSample{}
	}
	cg, err := container.CgroupOf(ct)
	if err != nil {
		return statsSample{}
	}
	s := statsSample{at: time.Now(), up: true}
	if s.cg, err = cg.Stats(); err != nil {
		return statsSample{}
	}
	if len(cg.Paths()) == 0 {
		// No cgroup (rootless without a delegated one): what /proc says.
		s.cg = procStats(container.Pids(ct))
	}
	if ct.Host.NetworkMode != "host" { // docker counts the container's own interfaces only
		s.rx, s.tx = netDev(ct.Pid)
	}
	return s
}

// sameProcess reports whether pid is still the process that started at
// start (a pid is recycled once its process is reaped).
func sameProcess(pid int, start uint64) bool {
	s, err := procstat.Read(pid)
	return err == nil && s.StartTime == start && s.State != 'Z'
}

// netDev sums the bytes received and sent over every interface of pid's
// network namespace but loopback, from /proc/<pid>/net/dev.
func netDev(pid int) (rx, tx uint64) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/net/dev")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	return parseNetDev(f)
}

// parseNetDev sums a net/dev table's counters, loopback aside.
func parseNetDev(r io.Reader) (rx, tx uint64) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, counters, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue // the two header lines have no colon
		}
		// Receive's bytes is the first field, transmit's the ninth.
		fs := strings.Fields(counters)
		if len(fs) < 9 {
			continue
		}
		r, _ := strconv.ParseUint(fs[0], 10, 64)
		t, _ := strconv.ParseUint(fs[8], 10, 64)
		rx, tx = rx+r, tx+t
	}
	return rx, tx
}

// statsLine is a container's row from two samples, in docker's units:
// binary for memory, decimal with three digits for I/O. With no memory
// limit, or one above the host's memory, the limit shown is the host's
// memory (docker's daemon does the same).
func statsLine(t statsTarget, prev, cur statsSample, hostMem uint64, noTrunc bool) statsRow {
	name := t.ct.Name
	if name == "" {
		name = "--"
	}
	var cpu, memPerc float64
	if prev.up && cur.up && cur.at.After(prev.at) && cur.cg.CPUNanos >= prev.cg.CPUNanos {
		cpu = float64(cur.cg.CPUNanos-prev.cg.CPUNanos) / float64(cur.at.Sub(prev.at).Nanoseconds()) * 100
	}
	mem, limit := cur.cg.Memory, cur.cg.MemoryLimit
	if cur.up && (cgroup.Unlimited(limit) || limit > hostMem) {
		limit = hostMem
	}
	if limit > 0 {
		memPerc = float64(mem) / float64(limit) * 100
	}
	return statsRow{
		Container: t.as, ID: containerID(t.ct.ID, noTrunc), Name: name,
		CPUPerc:  fmt.Sprintf("%.2f%%", cpu),
		MemUsage: units.BytesSize(float64(mem)) + " / " + units.BytesSize(float64(limit)),
		MemPerc:  fmt.Sprintf("%.2f%%", memPerc),
		NetIO:    units.HumanSizeWithPrecision(float64(cur.rx), 3) + " / " + units.HumanSizeWithPrecision(float64(cur.tx), 3),
		BlockIO:  units.HumanSizeWithPrecision(float64(cur.cg.BlockRead), 3) + " / " + units.HumanSizeWithPrecision(float64(cur.cg.BlockWrite), 3),
		PIDs:     strconv.FormatUint(cur.cg.Pids, 10),
	}
}

// userHZ is the unit of /proc's CPU times (USER_HZ, 100 on every Linux
// ABI whatever the kernel's own HZ).
const userHZ = 100

// procStats are the figures /proc gives of a container without a cgroup
// (pids: its processes, or their error): CPU time and resident memory
// summed over them (shared pages counted once per process), and their
// count. Block I/O stays 0: /proc/<pid>/io of a process running as
// another uid (a rootless container's, mapped into the user's range) is
// not readable.
func procStats(pids []int, err error) cgroup.Stats {
	var s cgroup.Stats
	if err != nil {
		return s
	}
	page := uint64(os.Getpagesize())
	for _, pid := range pids {
		st, err := procstat.Read(pid)
		if err != nil || st.State == 'Z' {
			continue
		}
		s.Pids++
		s.CPUNanos += (st.UTime + st.STime) * (1e9 / userHZ)
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm"); err == nil {
			if f := strings.Fields(string(b)); len(f) > 1 {
				rss, _ := strconv.ParseUint(f[1], 10, 64)
				s.Memory += rss * page
			}
		}
	}
	return s
}
