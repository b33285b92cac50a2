package commands

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/internal/procstat"
)

func init() { register(topCommand) }

func topCommand() *cli.Command {
	return &cli.Command{
		Name:      "top",
		Usage:     "display the running processes of a container",
		ArgsUsage: "CONTAINER [ps OPTIONS]",
		// Everything after CONTAINER belongs to ps (top x -o pid,comm).
		SkipFlagParsing: true,
		Action:          topAction,
	}
}

func topAction(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		if len(args) == 0 {
			return &ExitError{Code: 1, Err: errors.New(`"top" requires at least 1 argument: skiff top CONTAINER [ps OPTIONS]`)}
		}
		return cli.ShowCommandHelp(c, c.Command.Name)
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		printError(daemonError(err))
		return &ExitError{Code: 1}
	}
	ct, err := g.Containers().Lookup(args[0])
	if err != nil {
		return fail(err)
	}
	if !ct.Status.Up() { // docker's top shows a paused container's processes
		return fail(fmt.Errorf("container %s is not running", ct.ID))
	}
	pids, err := container.Pids(ct)
	if err != nil {
		return fail(err)
	}
	titles, rows, err := listProcs(args[1:], pids)
	if err != nil {
		return fail(err)
	}
	return printTable(os.Stdout, titles, rows)
}

// listProcs runs the host's ps (docker's default is -ef) and keeps the
// container's processes; with no ps installed and no options it builds
// ps -ef's columns from /proc.
func listProcs(psArgs []string, pids []int) ([]string, [][]string, error) {
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	ps, err := exec.LookPath("ps")
	if err != nil {
		if len(psArgs) == 1 && psArgs[0] == "-ef" {
			titles, rows := procRows(pids, time.Now())
			return titles, rows, nil
		}
		return nil, nil, fmt.Errorf("top: ps options need ps, which is not installed: run top without them")
	}
	out, err := exec.Command(ps, psArgs...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, nil, fmt.Errorf("ps %s: %s: %w", strings.Join(psArgs, " "), bytes.TrimSpace(ee.Stderr), err)
		}
		return nil, nil, fmt.Errorf("ps: %w", err)
	}
	return filterPs(out, pids)
}

// filterPs keeps the lines of ps output whose PID column is one of pids,
// splitting them into the header's columns; the last column (the command)
// keeps its spaces, as docker parses it.
func filterPs(out []byte, pids []int) ([]string, [][]string, error) {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	titles := strings.Fields(lines[0])
	pidCol := -1
	for i, t := range titles {
		if t == "PID" {
			pidCol = i
		}
	}
	if pidCol < 0 {
		return nil, nil, errors.New("couldn't find PID field in ps output: pass ps options that include pid")
	}
	want := make(map[string]bool, len(pids))
	for _, p := range pids {
		want[strconv.Itoa(p)] = true
	}
	var rows [][]string
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= pidCol || !want[f[pidCol]] {
			continue
		}
		if len(f) > len(titles) {
			f = append(f[:len(titles)-1], strings.Join(f[len(titles)-1:], " "))
		}
		rows = append(rows, f)
	}
	return titles, rows, nil
}

func printTable(w io.Writer, titles []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 20, 1, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(titles, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// clockTicks is USER_HZ, 100 on every Linux architecture skiff runs on.
const clockTicks = 100

// procRows is `ps -ef` for pids, read from /proc.
func procRows(pids []int, now time.Time) ([]string, [][]string) {
	titles := []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}
	boot := bootTime(now)
	users := passwdNames()
	var rows [][]string
	for _, pid := range pids {
		p, err := readProc(pid)
		if err != nil {
			continue // exited meanwhile
		}
		started := boot.Add(time.Duration(p.start) * time.Second / clockTicks)
		cpu := time.Duration(p.utime+p.stime) * time.Second / clockTicks
		c := 0
		if up := now.Sub(started); up > 0 {
			c = int(100 * cpu / up)
		}
		uid := strconv.Itoa(p.uid)
		if n, ok := users[p.uid]; ok {
			uid = n
		}
		rows = append(rows, []string{uid, strconv.Itoa(pid), strconv.Itoa(p.ppid), strconv.Itoa(c),
			stime(started, now), tty(p.ttyNr), cpuTime(cpu), p.cmd})
	}
	return titles, rows
}

type procInfo struct {
	uid, ppid, ttyNr    int
	utime, stime, start uint64
	cmd                 string
}

func readProc(pid int) (*procInfo, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	s, err := procstat.Read(pid)
	if err != nil {
		return nil, err
	}
	p := &procInfo{cmd: "[" + s.Comm + "]", ppid: s.PPid, ttyNr: s.TTYNr, utime: s.UTime, stime: s.STime, start: s.StartTime}
	if cl, err := os.ReadFile(dir + "/cmdline"); err == nil && len(cl) > 0 {
		p.cmd = strings.TrimSpace(strings.ReplaceAll(string(cl), "\x00", " "))
	}
	if st, err := os.ReadFile(dir + "/status"); err == nil {
		s := bufio.NewScanner(bytes.NewReader(st))
		for s.Scan() {
			if v, ok := strings.CutPrefix(s.Text(), "Uid:"); ok {
				if fs := strings.Fields(v); len(fs) > 1 {
					p.uid, _ = strconv.Atoi(fs[1]) // effective uid, as ps's UID
				}
			}
		}
	}
	return p, nil
}

func bootTime(now time.Time) time.Time {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return now
	}
	f := strings.Fields(string(b))
	up, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return now
	}
	return now.Add(-time.Duration(up * float64(time.Second)))
}

// passwdNames maps uids to the host's user names, as ps shows them.
func passwdNames() map[int]string {
	m := map[int]string{}
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return m
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) < 3 {
			continue
		}
		if uid, err := strconv.Atoi(f[2]); err == nil {
			if _, dup := m[uid]; !dup {
				m[uid] = f[0]
			}
		}
	}
	return m
}

// stime is ps's STIME: the time today, else the date.
func stime(t, now time.Time) string {
	y1, m1, d1 := t.Date()
	if y2, m2, d2 := now.Date(); y1 == y2 && m1 == m2 && d1 == d2 {
		return t.Format("15:04")
	}
	return t.Format("Jan02")
}

// tty is ps's TTY: pts/N for a pseudo-terminal (major 136-143), else "?".
func tty(nr int) string {
	major, minor := (nr>>8)&0xfff, (nr&0xff)|((nr>>12)&0xfff00)
	if major >= 136 && major <= 143 {
		return fmt.Sprintf("pts/%d", (major-136)*256+minor)
	}
	return "?"
}

// cpuTime is ps's TIME: [DD-]HH:MM:SS.
func cpuTime(d time.Duration) string {
	s := int(d / time.Second)
	if days := s / 86400; days > 0 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", days, s/3600%24, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}
