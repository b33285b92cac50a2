// Command bench (`make bench`, `go run ./bench`) measures skiff against its
// peers on this machine, side by side in one run, as ratios with targets
// (issue 10's):
//   - the start-up floor: `skiff --version` beside a minimal static Go
//     binary built here (<= 1.5x);
//   - the median time of `skiff run --rm --network none busybox true`
//     against bare crun (<= 1.5x) and runc running the same busybox bundle
//     and against podman (with --network none and with its default bridge),
//     with the -D phase timeline of that run (CLI, monitor, init marks)
//     under the table: where each millisecond goes;
//   - `run --rm` with one bind and one named volume beside the plain run on
//     the same store: volumes add at most 2 ms (issue 11);
//   - the cold pull of a generated 8-layer ~190 MB image against podman and
//     against a plain `pigz -dc | tar -x` of its layers (the floor).
//   - save of that image to a file and load into an empty store, against
//     podman save and load (issue 15: <= 0.66x).
//
// Run and pull are measured on a store on the root filesystem and on the
// loop ext4 at /var/tmp/bench-ext4 when it is mounted, and the filesystem is
// named.
//
// A tool that is missing or fails gets a FAILED line with its error; the
// others are still measured, so the benchmark works before skiff is complete.
//
// Peers come from ../shared/peers/setup-peers.sh, run first (skipped with a
// note when absent). The registry is testenv's docker-registry on a free
// loopback port, so podman is passed --tls-verify=false. Flags: -run-n,
// -vol-n, -pull-n and -version-n set the iterations, -skiff (or $SKIFF_BIN, as the
// Makefile sets) a prebuilt binary, -peers=false measures skiff and the
// floors only, -keep keeps the work dirs, -v prints every iteration. Needs
// root; ^C cleans up.
//
// The build tables (issue 12): a 6-step Dockerfile with a COPY of 2,000
// files, the first build and the all-cache rebuild, beside podman build
// and buildah bud; -build-n sets the iterations (0 skips).
//
// The lifecycle tables (issues 3 and 10), on the root fs store only: `ps -a`
// over 100 containers (<= 1.3x `skiff --version`), `run -d`, `exec true`
// (<= 2.5x `skiff --version` and <= 0.2x podman exec), `run -d` then `rm -f`
// of 50 containers in a loop (per container), and the monitor's RSS
// (< 6 MB), each beside podman's. -ps-n, -rund-n, -exec-n, -churn-n set their
// iterations (0 skips one), -rss=false skips the memory line, -life=false
// skips them all.
//
// The network tables (issue 14), in the bench's own network namespace
// (it re-execs into one after installing the peers, so neither skiff's
// bridge nor podman's touches the host's network): `run --rm` with the
// default bridge beside --network none (the bridge adds <= 5 ms), with
// podman's netavark bridge beside its none; TCP throughput through a
// published port beside the container's address dialled directly; the
// monitor's RSS while 100 ports are published, beside conmon's and
// docker-proxy's published figures. -net-n and -tcp-n set their
// iterations (0 skips one), -ports-rss=false skips the memory lines.
//
// The user network tables (issue 19), in the same namespace: `run --rm`
// on a user network beside the default bridge (<= +3 ms), and the latency
// of a DNS query of another member's name from inside a container,
// skiff's monitor at 127.0.0.11 beside podman's aardvark-dns, and that
// monitor's RSS after answering them. -usernet-n
// sets the run iterations (0 skips both), -usernet-only measures these
// tables alone (under a minute).
//
// The rootless table (issue 20), on the root fs: `run --rm` as an
// unprivileged user the bench makes for the run (with /etc/subuid and
// /etc/subgid lines; removed after) beside the same run as root and
// beside podman's rootless run as that user, alternating, with both -D
// timelines mark by mark and newuidmap + newgidmap timed on their own.
// -rootless-n sets the iterations (0 skips), -rootless-only measures this
// table alone.
//
// The rootless network tables (issue 21), as the same throwaway user, in
// the bench's own network namespace: TCP throughput container → host and
// connect latency on skiff's tapnet beside a bare slirp4netns namespace
// (pasta when installed), throughput through -p beside slirp4netns's port
// driver, the monitor's RSS with the stack and one idle connection, and
// what tapnet adds to a rootless `run --rm` (bench/tapnet.go).
// -tapnet-n sets the iterations (0 skips), -tapnet-only measures these
// tables alone.
//
// -baseline REV|BIN adds tables of this skiff beside another build of it
// (run, a cold pull, cp out of and into a container), alternating, as
// ratios: how a change that should keep speed shows that it did.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/skiff-dev/skiff/internal/testenv"
)

type options struct {
	runN, pullN  int
	pushN        int
	volN         int
	limitsN      int
	seccompN     int
	versionN     int
	life         bool
	psN, runDN   int
	execN        int
	churnN       int
	statsN       int
	buildN       int
	rss          bool
	netN, tcpN   int
	portsRSS     bool
	usernetN     int
	usernetOnly  bool
	rootlessN    int
	rootlessOnly bool
	tapnetN      int
	tapnetOnly   bool
	skiff        string // prebuilt binary; empty: build the repo
	baseline     string // another skiff (binary or git revision) to measure beside this one
	peers        bool
	ext4         string
	rootDir      string
	keep         bool
	verbose      bool
}

func main() {
	var o options
	flag.IntVar(&o.runN, "run-n", 20, "timed iterations of each run line (0 skips the run tables)")
	flag.IntVar(&o.volN, "vol-n", 20, "timed iterations of `run --rm` with a bind and a named volume beside the plain run (0 skips)")
	flag.IntVar(&o.limitsN, "limits-n", 20, "timed iterations of `run --rm` with --cpus, -m and --pids-limit beside the plain run (0 skips)")
	flag.IntVar(&o.seccompN, "seccomp-n", 20, "timed iterations of `run --rm` under the default seccomp filter beside seccomp=unconfined (0 skips)")
	flag.IntVar(&o.pullN, "pull-n", 5, "timed iterations of each pull line, a fresh store each (0 skips the pull tables)")
	flag.IntVar(&o.pushN, "push-n", 5, "timed iterations of each push line, an empty registry each (0 skips the push table)")
	flag.IntVar(&o.versionN, "version-n", 40, "timed iterations of `skiff --version` beside a minimal Go binary (0 skips)")
	flag.BoolVar(&o.life, "life", true, "measure the lifecycle tables: ps -a with 100 containers, run -d, exec, monitor RSS")
	flag.IntVar(&o.psN, "ps-n", 20, "timed iterations of `ps -a` with 100 containers (0 skips)")
	flag.IntVar(&o.runDN, "rund-n", 10, "timed iterations of `run -d` (0 skips)")
	flag.IntVar(&o.execN, "exec-n", 20, "timed iterations of `exec true` (0 skips)")
	flag.IntVar(&o.churnN, "churn-n", 3, "timed loops of `run -d` then `rm -f` of 50 containers (0 skips)")
	flag.IntVar(&o.statsN, "stats-n", 5, "timed iterations of `stats --no-stream` with 10 running containers (0 skips)")
	flag.IntVar(&o.buildN, "build-n", 5, "timed iterations of each build line: first build and all-cache rebuild (0 skips)")
	flag.BoolVar(&o.rss, "rss", true, "report the monitor's RSS beside conmon's")
	flag.IntVar(&o.netN, "net-n", 20, "timed iterations of `run --rm` with the default bridge beside --network none (0 skips)")
	flag.IntVar(&o.tcpN, "tcp-n", 5, "timed iterations of each TCP throughput line, through a published port and direct (0 skips)")
	flag.BoolVar(&o.portsRSS, "ports-rss", true, "report the monitor's RSS while 100 ports are published")
	flag.IntVar(&o.usernetN, "usernet-n", 20, "timed iterations of `run --rm` on a user network beside the default bridge, and a quarter as many DNS bursts (0 skips)")
	flag.BoolVar(&o.usernetOnly, "usernet-only", false, "measure only the user network tables (issue 19)")
	flag.IntVar(&o.rootlessN, "rootless-n", 20, "timed iterations of rootless `run --rm` beside root's and podman's, as a throwaway user (0 skips)")
	flag.BoolVar(&o.rootlessOnly, "rootless-only", false, "measure only the rootless table (issue 20)")
	flag.IntVar(&o.tapnetN, "tapnet-n", 5, "timed iterations of each rootless network line (tapnet beside slirp4netns: throughput, connects, -p; 4x as many run lines) (0 skips)")
	flag.BoolVar(&o.tapnetOnly, "tapnet-only", false, "measure only the rootless network tables (issue 21)")
	flag.StringVar(&o.baseline, "baseline", "", "also measure run, pull and cp beside this skiff binary or git revision (e.g. HEAD~1), as ratios")
	flag.StringVar(&o.skiff, "skiff", os.Getenv("SKIFF_BIN"), "skiff binary to measure (default $SKIFF_BIN, else go build the repository)")
	flag.BoolVar(&o.peers, "peers", true, "install (../shared/peers/setup-peers.sh) and measure podman, crun, runc")
	flag.StringVar(&o.ext4, "ext4", "/var/tmp/bench-ext4", "loop ext4 mount for the second store; skipped when not mounted or empty")
	flag.StringVar(&o.rootDir, "rootfs-dir", "/var/tmp", "directory on the root filesystem for the first store and the work files")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directories")
	flag.BoolVar(&o.verbose, "v", false, "print every iteration's time")
	flag.Parse()
	if o.usernetOnly {
		o.onlyUsernet()
	}
	if o.rootlessOnly {
		o.onlyRootless()
	}
	if o.tapnetOnly {
		o.onlyTapnet()
	}
	if err := enterNetns(&o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	stopOnSignal()
	if err := bench(&o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// onlyUsernet turns every other table off (-usernet-only).
func (o *options) onlyUsernet() {
	o.runN, o.volN, o.limitsN, o.seccompN, o.pullN, o.pushN, o.versionN = 0, 0, 0, 0, 0, 0, 0
	o.psN, o.runDN, o.execN, o.churnN, o.statsN, o.buildN = 0, 0, 0, 0, 0, 0
	o.life, o.rss, o.portsRSS = false, false, false
	o.netN, o.tcpN, o.rootlessN, o.tapnetN = 0, 0, 0, 0
	o.ext4 = ""
	if o.usernetN <= 0 {
		o.usernetN = 20
	}
}

// onlyRootless turns every other table off (-rootless-only).
func (o *options) onlyRootless() {
	n := o.rootlessN
	o.onlyUsernet()
	o.usernetN, o.rootlessN = 0, n
	if o.rootlessN <= 0 {
		o.rootlessN = 20
	}
}

// onlyTapnet turns every other table off (-tapnet-only).
func (o *options) onlyTapnet() {
	n := o.tapnetN
	o.onlyUsernet()
	o.usernetN, o.tapnetN = 0, n
	if o.tapnetN <= 0 {
		o.tapnetN = 5
	}
}

// env is what every section needs: binaries found, images pushed, work files.
type env struct {
	o        *options
	work     string
	runDir   string // short dir for runroots
	load     string // load average when the bench started
	skiff    string
	skiffErr error  // why skiff could not be built; its lines fail with it
	skiffRev string // what was measured: a git description or the binary's version
	crun     string
	runc     string
	podman   string
	pigz     string // pigz, or gzip when pigz is absent
	crunNS   *nsThread
	crunErr  error
	registry string // host:port
	bbRef    string
	bbTar    string // busybox rootfs as a tar, for the bare runtimes' bundles
	fatRef   string
	fat      []*genLayer
}

func bench(o *options) error {
	start := time.Now()
	repo, err := repoRoot()
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("run as root: the bare runtimes and podman need it, and skiff is measured rootful")
	}
	work, err := os.MkdirTemp(o.rootDir, "skiff-bench-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	e := &env{o: o, work: work, load: loadAvg()}
	defer e.removeAll(work)
	if e.runDir, err = os.MkdirTemp("/run", "skb-"); err != nil {
		return fmt.Errorf("runroot dir: %w", err)
	}
	defer e.removeAll(e.runDir)

	e.buildSkiff(repo)
	e.setupPeers()
	if e.crun != "" {
		if e.crunNS, e.crunErr = startCrunNS(); e.crunNS != nil {
			defer e.crunNS.Close()
		}
	}
	reg, err := e.prepareImages()
	if reg != nil {
		defer reg.Close()
	}
	if err != nil {
		return err
	}

	stores := []store{{label: "root fs", dir: filepath.Join(work, "store")}}
	switch {
	case o.ext4 == "":
		fmt.Println("note: -ext4 is empty: measuring the root fs store only")
	case isMountpoint(o.ext4):
		d, err := os.MkdirTemp(o.ext4, "skiff-bench-")
		if err != nil {
			return fmt.Errorf("store on %s: %w", o.ext4, err)
		}
		defer e.removeAll(d)
		stores = append(stores, store{label: "loop ext4", dir: d})
	default:
		fmt.Printf("note: %s is not mounted (setup-peers.sh mounts it): measuring the root fs store only\n", o.ext4)
	}

	e.printHeader()
	if o.versionN > 0 {
		fmt.Println()
		e.startupSection().print(os.Stdout)
	} else {
		fmt.Printf("\n(-version-n 0: start-up floor skipped)\n")
	}
	for i, st := range stores {
		if interrupted.Load() {
			return errInterrupted
		}
		if err := os.MkdirAll(st.dir, 0o755); err != nil {
			return fmt.Errorf("store %s: %w", st.dir, err)
		}
		fmt.Printf("\n\n=== store on %s: %s (%s)\n", st.label, fsName(st.dir), st.dir)
		for _, sc := range []struct {
			n       int
			flag    string
			measure func(store) *section
		}{{o.runN, "run-n", e.runSection}, {o.volN, "vol-n", e.volumesSection}, {o.limitsN, "limits-n", e.limitsSection}, {o.seccompN, "seccomp-n", e.seccompSection}, {o.pullN, "pull-n", e.pullSection}, {o.pushN, "push-n", e.pushSection}, {o.pullN, "pull-n", e.archiveSection}} {
			if sc.n <= 0 {
				fmt.Printf("\n(-%s %d: section skipped)\n", sc.flag, sc.n)
				continue
			}
			sec := sc.measure(st)
			if i > 0 { // the notes are the same for every store
				sec.notes = nil
			}
			fmt.Println()
			sec.print(os.Stdout) // now, not at the end: a pull section takes a while
		}
		if o.buildN > 0 {
			for _, sec := range e.buildSections(st) {
				fmt.Println()
				sec.print(os.Stdout)
			}
		} else {
			fmt.Printf("\n(-build-n 0: build tables skipped)\n")
		}
	}
	if interrupted.Load() {
		return errInterrupted
	}
	if o.baseline != "" {
		e.baselineSections(repo, stores[len(stores)-1])
	}
	if interrupted.Load() {
		return errInterrupted
	}
	if o.life && (o.psN > 0 || o.runDN > 0 || o.execN > 0 || o.churnN > 0 || o.rss) {
		fmt.Printf("\n\n=== container lifecycle, store on %s: %s\n", stores[0].label, fsName(stores[0].dir))
		e.lifecycleSections(stores[0])
	} else {
		fmt.Printf("\n(-life=false: lifecycle tables skipped)\n")
	}
	if interrupted.Load() {
		return errInterrupted
	}
	if o.statsN > 0 {
		fmt.Printf("\n\n=== monitoring, store on %s: %s\n\n", stores[0].label, fsName(stores[0].dir))
		e.statsSection(stores[0]).print(os.Stdout)
	} else {
		fmt.Printf("\n(-stats-n 0: stats table skipped)\n")
	}
	if interrupted.Load() {
		return errInterrupted
	}
	if o.netN > 0 || o.tcpN > 0 || o.portsRSS {
		fmt.Printf("\n\n=== networking, store on %s: %s, in the bench's own network namespace\n", stores[0].label, fsName(stores[0].dir))
		e.networkSections(repo, stores[0])
	} else {
		fmt.Printf("\n(-net-n 0 -tcp-n 0 -ports-rss=false: network tables skipped)\n")
	}
	if interrupted.Load() {
		return errInterrupted
	}
	if o.usernetN > 0 {
		fmt.Printf("\n\n=== user networks, store on %s: %s, in the bench's own network namespace\n", stores[0].label, fsName(stores[0].dir))
		e.usernetSections(repo, stores[0])
	} else {
		fmt.Printf("\n(-usernet-n 0: user network tables skipped)\n")
	}
	if interrupted.Load() {
		return errInterrupted
	}
	if o.rootlessN > 0 {
		fmt.Printf("\n\n=== rootless, stores on %s: %s, as a user made for the run\n", stores[0].label, fsName(stores[0].dir))
		e.rootlessSections(stores[0])
	} else {
		fmt.Printf("\n(-rootless-n 0: rootless table skipped)\n")
	}
	if interrupted.Load() {
		return errInterrupted
	}
	if o.tapnetN > 0 {
		fmt.Printf("\n\n=== rootless networking (tapnet), store on %s: %s, as a user made for the run, in the bench's own network namespace\n", stores[0].label, fsName(stores[0].dir))
		e.tapnetSections(repo, stores[0])
	} else {
		fmt.Printf("\n(-tapnet-n 0: rootless network tables skipped)\n")
	}
	if interrupted.Load() {
		return errInterrupted
	}
	fmt.Printf("\nbench finished in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// store is where one set of measurements keeps its images and containers.
type store struct {
	label string
	dir   string
}

func (e *env) progress(s string) {
	if e.o.verbose {
		fmt.Fprintln(os.Stderr, "  ", s)
	}
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// repoRoot is the skiff checkout containing the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/skiff-dev/skiff\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the skiff repository: run `make bench` from its root")
		}
		dir = parent
	}
}

func (e *env) buildSkiff(repo string) {
	if e.o.skiff != "" {
		e.skiff = e.o.skiff
		if !exists(e.skiff) {
			e.skiffErr = fmt.Errorf("skiff binary %s does not exist: build it (make) or drop -skiff/SKIFF_BIN", e.skiff)
		}
		v, _ := exec.Command(e.skiff, "--version").Output()
		e.skiffRev = strings.TrimPrefix(firstLine(string(v)), "skiff version ") + " (" + e.skiff + ")"
		return
	}
	e.skiff = filepath.Join(e.work, "skiff")
	e.logf("building skiff")
	rev, _ := exec.Command("git", "-C", repo, "describe", "--always", "--dirty").Output()
	e.skiffRev = "working tree " + strings.TrimSpace(string(rev))
	err := goBuild(repo, e.skiff)
	if err == nil {
		return
	}
	// Others commit into the same tree while they work: a half-edited file
	// should not cost the benchmark its skiff lines, so fall back to HEAD.
	fmt.Printf("note: the working tree does not build (%v): measuring HEAD\n", oneLine(err.Error()))
	head := filepath.Join(e.work, "head")
	if err := exportHead(repo, head); err != nil {
		e.skiffErr = fmt.Errorf("working tree and HEAD: %w", err)
		return
	}
	if err := goBuild(head, e.skiff); err != nil {
		e.skiffErr = fmt.Errorf("working tree and HEAD do not build: %w", err)
	}
	rev, _ = exec.Command("git", "-C", repo, "rev-parse", "--short", "HEAD").Output()
	e.skiffRev = "HEAD " + strings.TrimSpace(string(rev))
}

// goBuild builds skiff as the Makefile does: static, no cgo.
func goBuild(dir, out string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w: %s", err, oneLine(string(b)))
	}
	return nil
}

func exportHead(repo, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cmd := exec.Command("sh", "-c", `git -C "$0" archive HEAD | tar -x -C "$1"`, repo, dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git archive HEAD: %w: %s", err, lastLine(string(b)))
	}
	return nil
}

// installPeers runs the shared install script (it is idempotent and quick
// once done), before the bench enters its own network namespace: it may
// download. Absent peers are skipped later, with a note.
func installPeers(o *options) {
	if !o.peers {
		return
	}
	repo, err := repoRoot()
	if err != nil {
		return // bench() reports it
	}
	script := filepath.Join(filepath.Dir(repo), "shared", "peers", "setup-peers.sh")
	if !exists(script) {
		fmt.Printf("note: %s not found: peers not installed, measuring those already on PATH\n", script)
		return
	}
	fmt.Fprintf(os.Stderr, "bench: installing peers: bash %s\n", script)
	cmd := exec.Command("bash", script)
	log, err := os.CreateTemp("", "skiff-bench-setup-peers-*.log")
	if err == nil {
		cmd.Stdout, cmd.Stderr = log, log
		defer log.Close()
	}
	if err := cmd.Run(); err != nil {
		fmt.Printf("note: %s failed (%v; log %s): measuring the peers already on PATH\n", script, err, log.Name())
	}
}

// setupPeers finds the peers installPeers installed.
func (e *env) setupPeers() {
	if !e.o.peers {
		fmt.Println("note: -peers=false: measuring skiff and the unpack floor only")
	}
	e.pigz = lookPath("pigz")
	if e.o.peers {
		e.crun, e.runc, e.podman = lookPath("crun"), lookPath("runc"), lookPath("podman")
	}
	if e.pigz == "" {
		e.pigz = lookPath("gzip")
	}
}

// benchNetnsEnv marks the bench re-exec'd into its own network namespace.
const benchNetnsEnv = "SKIFF_BENCH_IN_NETNS"

// enterNetns installs the peers in the host's network, then runs the
// bench again in a network namespace of its own and exits with its
// status; in that copy it returns nil. Everything the bench makes (the
// registry on 127.0.0.1, skiff's and podman's bridges, their nftables
// rules and veths) is then there, never in the host's network. Not
// root: nil, and bench() says root is needed.
func enterNetns(o *options) error {
	if os.Getenv(benchNetnsEnv) == "" && os.Geteuid() == 0 {
		installPeers(o)
	}
	code, done, err := testenv.ReexecInNetns(benchNetnsEnv)
	switch {
	case done:
		os.Exit(code)
	case err != nil && os.Geteuid() == 0:
		return err
	}
	return nil
}

func lookPath(name string) string {
	p, _ := exec.LookPath(name)
	return p
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (e *env) printHeader() {
	fmt.Printf("skiff bench: %s, kernel %s, %d cores, skiff %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), kernel(), runtime.NumCPU(), e.skiffRev)
	for _, t := range []struct{ name, path string }{{"crun", e.crun}, {"runc", e.runc}, {"podman", e.podman}} {
		if err := e.missing(t.path); err != nil {
			fmt.Printf("  %s: %v\n", t.name, err)
			continue
		}
		v, _ := exec.Command(t.path, "--version").Output()
		fmt.Printf("  %s\n", firstLine(string(v)))
	}
	var gz, raw int64
	files := 0
	for _, l := range e.fat {
		gz, raw, files = gz+l.size, raw+l.rawSize, files+l.files
	}
	if len(e.fat) > 0 {
		fmt.Printf("  pull image: %d layers, %.0f MB unpacked in %d files, %.0f MB gzip (%.1fx), seed %#x\n",
			len(e.fat), mb(raw), files, mb(gz), float64(raw)/float64(gz), fatSeed)
	}
	fmt.Printf("  registry: docker-registry at %s; times are wall clock, median of n\n", e.registry)
	// Other work on this 2-core VM skews every line; the load says how much.
	fmt.Printf("  load average before the bench: %s\n", e.load)
}

func firstLine(s string) string { return strings.TrimSpace(strings.SplitN(s, "\n", 2)[0]) }

func mb(n int64) float64 { return float64(n) / 1e6 }

// removeAll deletes a work dir unless -keep, first detaching anything a peer
// left mounted inside it.
func (e *env) removeAll(dir string) {
	if e.o.keep {
		fmt.Fprintf(os.Stderr, "bench: kept %s\n", dir)
		return
	}
	unmountUnder(dir)
	os.RemoveAll(dir)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// interrupted is set by ^C: measuring stops after the running command and
// the deferred clean-up (registry, stores, podman's mounts) still runs.
var interrupted atomic.Bool

var errInterrupted = errors.New("interrupted")

// stopOnSignal sets interrupted on the first SIGINT/SIGTERM; a second one
// exits at once, leaving the work dirs behind.
func stopOnSignal() {
	c := make(chan os.Signal, 2)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-c
		interrupted.Store(true)
		fmt.Fprintln(os.Stderr, "bench: interrupted: cleaning up (again to exit at once)")
		<-c
		os.Exit(130)
	}()
}
