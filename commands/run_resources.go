package commands

// docker run's resource flags (docker/cli's opts and moby's
// verifyPlatformContainerResources): parsed and checked with docker's
// sentences into state.Limits, before anything is created. run, create and
// update share them.

import (
	"errors"
	"fmt"
	"math/big"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// minMemory is moby's linuxMinMemory: below it a container cannot start.
const minMemory = 6 * 1024 * 1024

// resourceFlags are the resource flags run, create and update share.
func resourceFlags() []cli.Flag {
	fs := []cli.Flag{
		&cli.StringFlag{Name: "cpus", Usage: "number of CPUs"},
		&cli.Int64Flag{Name: "cpu-shares", Aliases: []string{"c"}, Usage: "CPU shares (relative weight)"},
		&cli.Int64Flag{Name: "cpu-period", Usage: "limit CPU CFS (Completely Fair Scheduler) period"},
		&cli.Int64Flag{Name: "cpu-quota", Usage: "limit CPU CFS (Completely Fair Scheduler) quota"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs in which to allow execution (0-3, 0,1)"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "MEMs in which to allow execution (0-3, 0,1)"},
		&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Usage: "memory limit"},
		&cli.StringFlag{Name: "memory-swap", Usage: "swap limit equal to memory plus swap: '-1' to enable unlimited swap"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit"},
		&cli.StringFlag{Name: "kernel-memory", Usage: "kernel memory limit (deprecated)"},
		&cli.StringFlag{Name: "pids-limit", Usage: "tune container pids limit (set -1 for unlimited)"},
		&cli.StringFlag{Name: "blkio-weight", Usage: "block IO (relative weight), between 10 and 1000, or 0 to disable"},
	}
	for _, d := range throttleFlags {
		fs = append(fs, listFlag(d.name, nil, d.usage)...)
	}
	return fs
}

// runResourceFlags are the resource flags update does not have.
func runResourceFlags() []cli.Flag {
	return append(resourceFlags(),
		&cli.StringFlag{Name: "memory-swappiness", Value: "-1", Usage: "tune container memory swappiness (0 to 100)"},
		&cli.BoolFlag{Name: "oom-kill-disable", Usage: "disable OOM Killer"},
		&cli.IntFlag{Name: "oom-score-adj", Usage: "tune host's OOM preferences (-1000 to 1000)"},
		&cli.StringFlag{Name: "cgroup-parent", Usage: "optional parent cgroup for the container (under each hierarchy's root)"},
		&cli.StringFlag{Name: "cgroupns", Usage: `cgroup namespace to use (host|private): "host" runs in the host's, "private" in its own (default: host on cgroup v1, private on v2)`},
	)
}

var throttleFlags = []struct {
	name, usage string
	iops        bool
}{
	{"device-read-bps", "limit read rate (bytes per second) from a device", false},
	{"device-write-bps", "limit write rate (bytes per second) to a device", false},
	{"device-read-iops", "limit read rate (IO per second) from a device", true},
	{"device-write-iops", "limit write rate (IO per second) to a device", true},
}

// resourceArgs are the resource flags as typed: set holds the flags given.
type resourceArgs struct {
	values map[string]string
	lists  map[string][]string
}

func (a resourceArgs) has(name string) bool { _, ok := a.values[name]; return ok }

// resourceArgsOf reads the resource flags given on c's command line. The
// flags set are listed once: urfave's IsSet scans every flag of the
// command, and run has a hundred (see unsupportedRunFlags).
func resourceArgsOf(c *cli.Context, flags []cli.Flag) resourceArgs {
	a := resourceArgs{values: map[string]string{}, lists: map[string][]string{}}
	set := map[string]bool{}
	for _, n := range c.LocalFlagNames() {
		set[n] = true
	}
	for _, f := range flags {
		name := f.Names()[0]
		if !slices.ContainsFunc(f.Names(), func(n string) bool { return set[n] }) {
			continue
		}
		if _, list := f.(*cli.GenericFlag); list {
			if l := listOf(c, name); len(l) > 0 {
				a.lists[name] = l
			}
			continue
		}
		a.values[name] = fmt.Sprint(c.Value(name))
	}
	return a
}

// hostCPUs is what --cpus and --cpuset-* are checked against.
type hostCPUs struct {
	n          int    // CPUs we may run on
	cpus, mems string // the root cpuset's lists ("" unknown: not checked)
}

func currentHostCPUs() hostCPUs {
	h := hostCPUs{n: runtime.NumCPU()}
	if b, err := os.ReadFile("/sys/fs/cgroup/cpuset/cpuset.cpus"); err == nil {
		h.cpus = strings.TrimSpace(string(b))
	} else if b, err := os.ReadFile("/sys/fs/cgroup/cpuset.cpus.effective"); err == nil {
		h.cpus = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/cpuset/cpuset.mems"); err == nil {
		h.mems = strings.TrimSpace(string(b))
	} else if b, err := os.ReadFile("/sys/fs/cgroup/cpuset.mems.effective"); err == nil {
		h.mems = strings.TrimSpace(string(b))
	}
	return h
}

// parseLimits turns the flags given into limits on top of base (a new
// container's zero limits, or update's current ones) and docker's
// warnings, with docker's rules and sentences.
func parseLimits(a resourceArgs, base state.Limits, host hostCPUs) (state.Limits, []string, error) {
	l := base
	var err error
	if l, err = parseMemoryFlags(a, l); err != nil {
		return l, nil, err
	}
	if l, err = parseCPUFlags(a, l, host); err != nil {
		return l, nil, err
	}
	if l, err = parseOtherFlags(a, l); err != nil {
		return l, nil, err
	}
	if err := checkLimits(l, host); err != nil {
		return l, nil, err
	}
	return l, limitWarnings(a, l), nil
}

func limitFlagError(name, val string, err error) error {
	return fmt.Errorf("invalid argument %q for %q flag: %w", val, "--"+name, err)
}

func parseSize(a resourceArgs, name string, into *int64) error {
	v, ok := a.values[name]
	if !ok {
		return nil
	}
	n, err := units.RAMInBytes(v)
	if err != nil {
		return limitFlagError(name, v, err)
	}
	*into = n
	return nil
}

func parseMemoryFlags(a resourceArgs, l state.Limits) (state.Limits, error) {
	for _, f := range []struct {
		name string
		into *int64
	}{{"memory", &l.Memory}, {"memory-reservation", &l.MemoryReservation}, {"kernel-memory", &l.KernelMemory}} {
		if err := parseSize(a, f.name, f.into); err != nil {
			return l, err
		}
	}
	if v, ok := a.values["memory-swap"]; ok {
		if v == "-1" {
			l.MemorySwap = -1
		} else if err := parseSize(a, "memory-swap", &l.MemorySwap); err != nil {
			return l, err
		}
	} else if a.has("memory") && l.MemorySwap > 0 && l.Memory > l.MemorySwap {
		// update: moby's words for a memory limit above the recorded swap.
		return l, errors.New("Conflicting options: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time")
	}
	// moby: -m without --memory-swap gets twice the memory as memory+swap.
	if l.Memory > 0 && l.MemorySwap == 0 {
		l.MemorySwap = 2 * l.Memory
	}
	if v, ok := a.values["memory-swappiness"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return l, limitFlagError("memory-swappiness", v, err)
		}
		if n != -1 {
			l.MemorySwappiness = &n
		}
	}
	if a.values["oom-kill-disable"] == "true" {
		l.OomKillDisable = true
	}
	return l, nil
}

func parseCPUFlags(a resourceArgs, l state.Limits, host hostCPUs) (state.Limits, error) {
	if v, ok := a.values["cpus"]; ok {
		r, ok := new(big.Rat).SetString(v)
		if !ok {
			return l, limitFlagError("cpus", v, fmt.Errorf("failed to parse %v as a rational number", v))
		}
		nano := r.Mul(r, big.NewRat(1e9, 1))
		if !nano.IsInt() {
			return l, limitFlagError("cpus", v, errors.New("value is too precise"))
		}
		l.NanoCPUs = nano.Num().Int64()
	}
	for _, f := range []struct {
		name string
		into *int64
	}{{"cpu-shares", &l.CPUShares}, {"cpu-period", &l.CPUPeriod}, {"cpu-quota", &l.CPUQuota}} {
		if v, ok := a.values[f.name]; ok {
			n, _ := strconv.ParseInt(v, 10, 64) // urfave parsed it
			*f.into = n
		}
	}
	if v, ok := a.values["cpuset-cpus"]; ok {
		l.CpusetCpus = v
	}
	if v, ok := a.values["cpuset-mems"]; ok {
		l.CpusetMems = v
	}
	return l, nil
}

func parseOtherFlags(a resourceArgs, l state.Limits) (state.Limits, error) {
	if v, ok := a.values["pids-limit"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return l, limitFlagError("pids-limit", v, err)
		}
		if n < 0 {
			n = -1 // docker records any negative as -1, unlimited
		}
		l.PidsLimit = n
	}
	if v, ok := a.values["blkio-weight"]; ok {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return l, limitFlagError("blkio-weight", v, err)
		}
		l.BlkioWeight = uint16(n)
	}
	if v, ok := a.values["cgroup-parent"]; ok && v != "" {
		if _, err := cgroup.CheckParent(v); err != nil {
			return l, err
		}
		l.CgroupParent = v // as typed, as docker's inspect shows it
	}
	if v, ok := a.values["cgroupns"]; ok {
		if v != "" && v != "host" && v != "private" {
			return l, errors.New("--cgroupns: invalid CGROUP mode")
		}
		l.CgroupnsMode = v
	}
	if v, ok := a.values["oom-score-adj"]; ok {
		l.OomScoreAdj, _ = strconv.Atoi(v)
		if err := checkOomScoreAllowed(l.OomScoreAdj); err != nil {
			return l, err
		}
	}
	for _, f := range throttleFlags {
		vals, ok := a.lists[f.name]
		if !ok {
			continue
		}
		devs := make([]state.ThrottleDevice, 0, len(vals))
		for _, v := range vals {
			d, err := parseThrottle(v, f.iops)
			if err != nil {
				return l, limitFlagError(f.name, v, err)
			}
			devs = append(devs, d)
		}
		*throttleField(&l, f.name) = devs
	}
	return l, nil
}

func throttleField(l *state.Limits, name string) *[]state.ThrottleDevice {
	switch name {
	case "device-read-bps":
		return &l.BlkioDeviceReadBps
	case "device-write-bps":
		return &l.BlkioDeviceWriteBps
	case "device-read-iops":
		return &l.BlkioDeviceReadIOps
	}
	return &l.BlkioDeviceWriteIOps
}

// parseThrottle is docker's ValidateThrottle{Bps,IOps}Device, then the
// device's numbers (moby resolves them at create; a missing device fails).
func parseThrottle(v string, iops bool) (state.ThrottleDevice, error) {
	path, rate, ok := strings.Cut(v, ":")
	if !ok || path == "" {
		return state.ThrottleDevice{}, fmt.Errorf("bad format: %s", v)
	}
	if !strings.HasPrefix(path, "/dev/") {
		return state.ThrottleDevice{}, fmt.Errorf("bad format for device path: %s", v)
	}
	var n uint64
	if iops {
		r, err := strconv.ParseUint(rate, 10, 64)
		if err != nil {
			return state.ThrottleDevice{}, fmt.Errorf("invalid rate for device: %s. The correct format is <device-path>:<number>. Number must be a positive integer", v)
		}
		n = r
	} else {
		r, err := units.RAMInBytes(rate)
		if err != nil || r < 0 {
			return state.ThrottleDevice{}, fmt.Errorf("invalid rate for device: %s. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb", v)
		}
		n = uint64(r)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return state.ThrottleDevice{}, fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return state.ThrottleDevice{}, fmt.Errorf("%s is not a block device", path)
	}
	return state.ThrottleDevice{Path: path, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)), Rate: n}, nil
}

// checkLimits is moby's verifyPlatformContainerResources, with its words.
func checkLimits(l state.Limits, host hostCPUs) error {
	if err := checkMemory(l); err != nil {
		return err
	}
	if err := checkCPU(l, host); err != nil {
		return err
	}
	if l.BlkioWeight > 0 && (l.BlkioWeight < 10 || l.BlkioWeight > 1000) {
		return errors.New("Range of blkio weight is from 10 to 1000")
	}
	if l.OomScoreAdj < -1000 || l.OomScoreAdj > 1000 {
		return fmt.Errorf("Invalid value %d, range for oom score adj is [-1000, 1000]", l.OomScoreAdj)
	}
	return nil
}

func checkMemory(l state.Limits) error {
	switch {
	case l.Memory != 0 && l.Memory < minMemory:
		return errors.New("Minimum memory limit allowed is 6MB")
	case l.Memory == 0 && l.MemorySwap > 0:
		return errors.New("You should always set the Memory limit when using Memoryswap limit, see usage")
	case l.Memory > 0 && l.MemorySwap > 0 && l.MemorySwap < l.Memory:
		return errors.New("Minimum memoryswap limit should be larger than memory limit, see usage")
	case l.MemorySwappiness != nil && (*l.MemorySwappiness < 0 || *l.MemorySwappiness > 100):
		return fmt.Errorf("Invalid value: %d, valid memory swappiness range is 0-100", *l.MemorySwappiness)
	case l.MemoryReservation != 0 && l.MemoryReservation < minMemory:
		return errors.New("Minimum memory reservation allowed is 6MB")
	case l.Memory > 0 && l.MemoryReservation > 0 && l.Memory < l.MemoryReservation:
		return errors.New("Minimum memory limit can not be less than memory reservation limit, see usage")
	}
	return nil
}

func checkCPU(l state.Limits, host hostCPUs) error {
	switch {
	case l.NanoCPUs > 0 && l.CPUPeriod > 0:
		return errors.New("Conflicting options: Nano CPUs and CPU Period cannot both be set")
	case l.NanoCPUs > 0 && l.CPUQuota > 0:
		return errors.New("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
	case l.NanoCPUs < 0 || l.NanoCPUs > int64(host.n)*1e9:
		return fmt.Errorf("Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", host.n, host.n)
	case l.NanoCPUs > 0 && l.NanoCPUs < 1e7:
		return fmt.Errorf("Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", host.n, host.n)
	case l.CPUShares < 0:
		return fmt.Errorf("Invalid CPU shares (%d): value must be a positive integer", l.CPUShares)
	case l.CPUPeriod != 0 && (l.CPUPeriod < 1000 || l.CPUPeriod > 1000000):
		return errors.New("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
	case l.CPUQuota > 0 && l.CPUQuota < 1000:
		return errors.New("CPU cfs quota can not be less than 1ms (i.e. 1000)")
	}
	if err := checkCpuset(l.CpusetCpus, host.cpus, "cpus", "Requested CPUs are not available"); err != nil {
		return err
	}
	return checkCpuset(l.CpusetMems, host.mems, "mems", "Requested memory nodes are not available")
}

// checkCpuset is moby's check of --cpuset-cpus/--cpuset-mems: a valid
// list, every member available.
func checkCpuset(req, avail, what, unavailable string) error {
	if req == "" {
		return nil
	}
	want, err := parseCPUList(req)
	if err != nil {
		return fmt.Errorf("Invalid value %s for cpuset %s", req, what)
	}
	if avail == "" {
		return nil
	}
	have, err := parseCPUList(avail)
	if err != nil {
		return nil // the host's list unreadable: the kernel decides
	}
	for n := range want {
		if !have[n] {
			return fmt.Errorf("%s - requested %s, available: %s", unavailable, req, avail)
		}
	}
	return nil
}

// parseCPUList reads a kernel list ("0-3,5").
func parseCPUList(s string) (map[int]bool, error) {
	out := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("invalid list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("invalid list %q", s)
			}
		}
		for n := a; n <= b; n++ {
			out[n] = true
		}
	}
	return out, nil
}

// limitWarnings are docker's warnings for flags it accepts but cannot
// honour (printed as "WARNING: ..." on stderr).
func limitWarnings(a resourceArgs, l state.Limits) []string {
	var w []string
	if l.KernelMemory != 0 {
		w = append(w, "Specifying a kernel memory limit is deprecated and will be removed in a future release.")
	}
	if l.OomKillDisable && l.Memory == 0 {
		w = append(w, "Disabling the OOM killer on containers without setting a '-m/--memory' limit may be dangerous.")
	}
	if (a.has("memory") || a.has("memory-swap")) && l.Memory > 0 && !swapLimitSupported() {
		w = append(w, "Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.")
	}
	if unifiedOnly() {
		// cgroup v2 has neither knob: docker drops them with these words.
		if l.OomKillDisable {
			w = append(w, "Your kernel does not support OomKillDisable. OomKillDisable discarded.")
		}
		if l.MemorySwappiness != nil {
			w = append(w, "Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.")
		}
	}
	if a.has("blkio-weight") && l.BlkioWeight > 0 && !blkioWeightSupported() {
		w = append(w, "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.")
	}
	return w
}

// blkioWeightSupported: a v1 blkio.weight file (CFQ, gone with the legacy
// block layer) or v2's io.weight (moby's sysinfo checks the same).
func blkioWeightSupported() bool {
	for _, p := range []string{"/sys/fs/cgroup/blkio/blkio.weight", "/sys/fs/cgroup/io.weight"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	b, _ := os.ReadFile("/sys/fs/cgroup/cgroup.subtree_control")
	return slices.Contains(strings.Fields(string(b)), "io")
}

// swapLimitSupported: v1's memsw files (swap accounting on), or a pure v2
// host (memory.swap.max in every non-root cgroup).
func swapLimitSupported() bool {
	for _, p := range []string{"/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", "/sys/fs/cgroup/cgroup.controllers"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// printLimitWarnings prints docker's warnings as its CLI does.
func printLimitWarnings(ws []string) {
	for _, w := range ws {
		fmt.Fprintln(os.Stderr, "WARNING:", w)
	}
}

// limitOptions reads run's resource flags into o's record-to-be.
func limitOptions(c *cli.Context, o *spec.Options) error {
	l, warnings, err := parseLimits(resourceArgsOf(c, runResourceFlags()), state.Limits{}, currentHostCPUs())
	if err != nil {
		return err
	}
	if l.CgroupnsMode == "" {
		l.CgroupnsMode = defaultCgroupnsMode()
	}
	printLimitWarnings(warnings)
	if rootless() {
		if err := printRootlessLimits(&l); err != nil {
			return err
		}
	}
	o.Host.Limits = l
	return nil
}

// checkOomScoreAllowed refuses an --oom-score-adj the caller may not set:
// below its own score the kernel wants CAP_SYS_RESOURCE, and the monitor
// (our child) would only fail at start.
func checkOomScoreAllowed(v int) error {
	if v < -1000 || v > 1000 {
		return nil // checkLimits has docker's words for that
	}
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return nil
	}
	own, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || v >= own || hasCapSysResource() {
		return nil
	}
	return fmt.Errorf("Invalid value %d for --oom-score-adj: lowering it below the caller's own (%d) needs CAP_SYS_RESOURCE", v, own)
}

func hasCapSysResource() bool {
	if rootless() {
		// Inside the user namespace the capability is the namespace's:
		// oom_score_adj wants the host's.
		return false
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return true // unknown: let the kernel decide
	}
	return data[0].Effective&(1<<unix.CAP_SYS_RESOURCE) != 0
}

// defaultCgroupnsMode is docker's: private on a pure cgroup v2 host, host
// on v1 and hybrid hosts.
func defaultCgroupnsMode() string {
	if unifiedOnly() {
		return "private"
	}
	return "host"
}

// unifiedOnly reports a pure cgroup v2 host: its unified hierarchy at
// /sys/fs/cgroup.
func unifiedOnly() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}
