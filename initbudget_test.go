package main

// The start-up budget of every skiff process (issue 10). The container's
// init and the monitor are this binary re-executed (main.go dispatches
// them), so each of the three processes of a `skiff run` runs every package
// initialisation linked into main before it does anything. A later
// dependency with init work (a regexp compiled at package level, a table
// built in init(), a registered codec) would silently slow every run three
// times over.
//
// Speed is measured by `make bench`, never by a timed test. This test counts
// what the Go runtime reports under GODEBUG=inittrace=1, which is fixed for
// a given build: which packages run initialisation work, and how many
// allocations each makes. It builds main as the Makefile does (same tags,
// no cgo), runs `skiff --version` (every init runs before main) and fails
// when
//   - a module package (outside the standard library) that is not in
//     initWork runs init work,
//   - a listed package makes more than its allocations plus slack,
//   - a listed package no longer runs init work (remove its line, so it
//     cannot come back unnoticed),
//   - the standard library's packages together pass stdInitAllocs plus slack
//     (net/http, crypto/tls and unicode tables are what one import adds).
//
// To change the budget deliberately: add or edit the package's line in
// initWork (or stdInitAllocs) with the measured count from the failure
// message and a comment saying why skiff needs it at start-up, and say so in
// the commit message. Check the cost with
// `GODEBUG=inittrace=1 bin/skiff --version` and `make bench` first: the
// cheaper fix is usually to make the work lazy (sync.OnceValue) or to keep
// the import out of main's graph.

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// initWork is every module package with package-level initialisation work in
// main's build, and the allocations it makes there (measured: go1.26.8,
// commit d016ab4). Ordered by import path; BuildKit's group last.
var initWork = map[string]int{
	"github.com/docker/cli/cli/config":                                            1,   // config dir from the environment
	"github.com/google/go-containerregistry/internal/redact":                      2,   // context keys
	"github.com/google/go-containerregistry/pkg/logs":                             6,   // discard loggers
	"github.com/google/go-containerregistry/pkg/name":                             281, // reference regexps
	"github.com/google/go-containerregistry/pkg/v1/empty":                         1,   // the empty image
	"github.com/google/go-containerregistry/pkg/v1/remote":                        5,   // default transports
	"github.com/google/go-containerregistry/pkg/v1/remote/internal/authchallenge": 0,
	"github.com/google/go-containerregistry/pkg/v1/remote/transport":              95, // default transport, scope regexps; its user agent parses the build info, one allocation a linked module (49 before BuildKit's modules, 68 before containerd/cgroups')
	"github.com/google/nftables":                                                  35, // set datatype lookup maps: the bridge's NAT rules (issue 14); the monitor needs them, its init() cannot be made lazy
	"github.com/google/nftables/alignedbuff":                                      1,
	"github.com/google/nftables/expr":                                             8,  // its expression parser registered in init()
	"github.com/klauspost/compress/flate":                                         15, // fixed Huffman tables
	"github.com/klauspost/compress/gzip":                                          0,
	"github.com/klauspost/compress/internal/cpuinfo":                              0,
	"github.com/klauspost/compress/internal/snapref":                              3, // crc table (costly in CPU, not allocations)
	"github.com/klauspost/compress/zstd":                                          0,
	"github.com/mdlayher/netlink":                                                 0,   // nftables' netlink
	"github.com/opencontainers/go-digest":                                         841, // digest regexps
	"github.com/opencontainers/image-spec/specs-go":                               5,
	"github.com/opencontainers/runtime-spec/specs-go":                             1,
	"github.com/sirupsen/logrus":                                                  4,
	"github.com/skiff-dev/skiff/commands":                                         14, // the verb builders list (commands are built in NewApp, not at init)
	"github.com/skiff-dev/skiff/container":                                        2,
	"github.com/skiff-dev/skiff/dns":                                              0, // Address, a netip.Addr: no constant can hold one (issue 19: the monitor serves DNS)
	"github.com/skiff-dev/skiff/network":                                          0, // DefaultPools, skiff's table's name
	"github.com/skiff-dev/skiff/registry":                                         2,
	"github.com/skiff-dev/skiff/rootfs":                                           6,
	"github.com/skiff-dev/skiff/run":                                              12,
	"github.com/skiff-dev/skiff/state":                                            2, // small package-level values (the name pattern compiles on first use)
	"github.com/urfave/cli/v2":                                                    34,
	"github.com/vishvananda/netlink":                                              41,
	"github.com/vishvananda/netlink/nl":                                           2,
	"golang.org/x/net/dns/dnsmessage":                                             6, // its package-level errors: the monitor's DNS responder (issue 19) parses queries with it; a third-party init cannot be made lazy
	"golang.org/x/sys/unix":                                                       1,

	// load -i img.tar.xz (issue 15): xz's package-level CRC tables, ~33 KB in
	// 6 allocations, in the skiff CLI only (skiff-roles, the container's init
	// and monitor, does not link internal/decompress); a third-party init
	// cannot be made lazy, and the standard library has no xz reader.
	"github.com/ulikunitz/xz":               4,
	"github.com/ulikunitz/xz/internal/xlog": 0,
	"github.com/ulikunitz/xz/lzma":          2,

	// skiff build and commit/import -c parse Dockerfiles with BuildKit's own
	// packages (issue 12). Their package-level regexps and dispatch tables,
	// and the protobuf runtime its parser's error stacks (util/stack) bring,
	// cost every skiff CLI process ~300 allocations and ~0.2 ms at start-up;
	// third-party inits cannot be made lazy, and the container's init and
	// monitor (skiff-roles) do not link them.
	"github.com/moby/buildkit/frontend/dockerfile/command":      0,
	"github.com/moby/buildkit/frontend/dockerfile/instructions": 51,  // stage-name regexp, RUN flag hooks
	"github.com/moby/buildkit/frontend/dockerfile/parser":       126, // line regexps, the instruction dispatch table
	"github.com/moby/buildkit/util/stack":                       11,
	"github.com/moby/patternmatcher":                            0,  // .dockerignore: a byte table filled in init
	"github.com/moby/profiles/seccomp":                          10, // docker's seccomp profile (issue 17): two small arch-name maps; spec resolves the profile at create and the monitor links spec through container
	"github.com/containerd/typeurl/v2":                          1,
	"github.com/docker/go-units":                                4,
	"github.com/planetscale/vtprotobuf/protohelpers":            3,
	"google.golang.org/protobuf/encoding/protowire":             7,
	"google.golang.org/protobuf/encoding/prototext":             1,
	"google.golang.org/protobuf/internal/detrand":               7,
	"google.golang.org/protobuf/internal/encoding/tag":          0,
	"google.golang.org/protobuf/internal/encoding/text":         7,
	"google.golang.org/protobuf/internal/errors":                0,
	"google.golang.org/protobuf/internal/filedesc":              18,
	"google.golang.org/protobuf/internal/filetype":              4,
	"google.golang.org/protobuf/internal/impl":                  10,
	"google.golang.org/protobuf/proto":                          7,
	"google.golang.org/protobuf/reflect/protoreflect":           0,
	"google.golang.org/protobuf/reflect/protoregistry":          3,
	"google.golang.org/protobuf/types/known/anypb":              10,

	// Resource limits (issue 16) are written with containerd/cgroups, the
	// issue's library, by the container's monitor (skiff-roles) before the
	// init may exec: its cgroup1/cgroup2 packages link their protobuf stats
	// types, cilium/ebpf (v2 device filters) and godbus (systemd), whose
	// package-level tables cannot be made lazy (~0.8 ms per skiff-roles
	// process, measured with GODEBUG=inittrace=1).
	"github.com/cilium/ebpf":                         43,
	"github.com/cilium/ebpf/asm":                     8,
	"github.com/cilium/ebpf/btf":                     18,
	"github.com/cilium/ebpf/internal":                4,
	"github.com/cilium/ebpf/internal/sys":            4,
	"github.com/cilium/ebpf/internal/tracefs":        2,
	"github.com/cilium/ebpf/link":                    20,
	"github.com/containerd/cgroups/v3/cgroup1/stats": 33,
	"github.com/containerd/cgroups/v3/cgroup2/stats": 11,
	"github.com/containerd/log":                      1,
	"github.com/godbus/dbus/v5":                      14,
	"github.com/moby/sys/userns":                     2,
	// The rootless network's user-mode stack (issue 21, package tapnet on
	// gVisor's netstack): ~100 allocations and ~0.2 ms in every skiff
	// process, measured with GODEBUG=inittrace=1; the monitor runs the
	// stack, and one program carries the init, the monitor and exec's
	// process. gvisor-tap-vsock's own packages were 4-6 ms (gopacket).
	"gvisor.dev/gvisor/pkg/state":                                9,
	"gvisor.dev/gvisor/pkg/sync":                                 0,
	"gvisor.dev/gvisor/pkg/atomicbitops":                         1,
	"gvisor.dev/gvisor/pkg/sleep":                                0,
	"gvisor.dev/gvisor/pkg/sync/locking":                         0,
	"gvisor.dev/gvisor/pkg/waiter":                               3,
	"gvisor.dev/gvisor/pkg/tcpip/link/stopfd":                    0,
	"gvisor.dev/gvisor/pkg/rand":                                 3,
	"gvisor.dev/gvisor/pkg/log":                                  52,
	"gvisor.dev/gvisor/pkg/refs":                                 2,
	"gvisor.dev/gvisor/pkg/buffer":                               13,
	"gvisor.dev/gvisor/pkg/tcpip":                                7,
	"gvisor.dev/gvisor/pkg/tcpip/header":                         0,
	"gvisor.dev/gvisor/pkg/tcpip/internal/tcp":                   0,
	"gvisor.dev/gvisor/pkg/tcpip/network/hash":                   3,
	"gvisor.dev/gvisor/pkg/tcpip/ports":                          0,
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcpconntrack":         0,
	"gvisor.dev/gvisor/pkg/tcpip/stack":                          3,
	"gvisor.dev/gvisor/pkg/tcpip/link/nested":                    0,
	"gvisor.dev/gvisor/pkg/tcpip/network/internal/fragmentation": 2,
	"gvisor.dev/gvisor/pkg/tcpip/network/internal/ip":            0,
	"gvisor.dev/gvisor/pkg/tcpip/network/arp":                    0,
	"gvisor.dev/gvisor/pkg/tcpip/network/internal/multicast":     0,
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4":                   0,
	"gvisor.dev/gvisor/pkg/tcpip/stack/gro":                      0,
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased":                   0,
	"gvisor.dev/gvisor/pkg/tcpip/transport/internal/network":     0,
	"gvisor.dev/gvisor/pkg/tcpip/transport/internal/noop":        0,
	"gvisor.dev/gvisor/pkg/tcpip/transport/packet":               0,
	"gvisor.dev/gvisor/pkg/tcpip/transport/raw":                  0,
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp":                 0,
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp":                  0,
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp":                  0,
	"github.com/skiff-dev/skiff/tapnet":                          0,
}

// stdInitAllocs is the standard library's allocations at init in main's
// build, all packages together (measured as initWork: 302 to 309 in 87 packages, run to run).
const stdInitAllocs = 309

// allocSlack is how far a count may rise before the test fails: a Go
// release or the environment moves a count by a few (net/netip, x/sys/cpu),
// a new table or regexp moves it by more.
func allocSlack(n int) int { return n + n/4 + 4 }

// initTrace is one package's line of GODEBUG=inittrace=1.
type initTrace struct {
	pkg           string
	bytes, allocs int
}

func TestInitBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds skiff")
	}
	traces := runInitTrace(t, buildLikeMakefile(t))
	stdAllocs, stdPkgs := 0, 0
	seen := map[string]bool{}
	for _, tr := range traces {
		if isStd(tr.pkg) {
			stdAllocs += tr.allocs
			stdPkgs++
			continue
		}
		seen[tr.pkg] = true
		want, listed := initWork[tr.pkg]
		switch {
		case !listed:
			t.Errorf("%s now runs package initialisation (%d allocs, %d bytes) in every skiff process, the init and monitor too: make it lazy, or add it to initWork with the reason", tr.pkg, tr.allocs, tr.bytes)
		case tr.allocs > allocSlack(want):
			t.Errorf("%s allocates %d times at init, budget %d (+slack): make the new work lazy, or raise its line with the reason", tr.pkg, tr.allocs, want)
		case tr.allocs < want*3/4:
			t.Logf("%s allocates %d times at init, listed %d: lower its line", tr.pkg, tr.allocs, want)
		}
	}
	for _, pkg := range sortedKeys(initWork) {
		if !seen[pkg] {
			t.Errorf("%s runs no package initialisation any more: remove its line from initWork so it cannot come back unnoticed", pkg)
		}
	}
	if stdAllocs > allocSlack(stdInitAllocs) {
		t.Errorf("the standard library's %d packages with init work allocate %d times, budget %d (+slack): an import brought heavy std packages (net/http, crypto/tls, unicode tables?) into every skiff process", stdPkgs, stdAllocs, stdInitAllocs)
	}
	t.Logf("init work: %d module packages, %d std packages allocating %d times", len(seen), stdPkgs, stdAllocs)
}

// buildLikeMakefile builds main into a temp dir with the Makefile's tags and
// no cgo: the binary `make` installs, whose inits every process runs.
func buildLikeMakefile(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	tags, err := makefileTags(filepath.Join(dir, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "skiff")
	cmd := exec.Command("go", "build", "-tags", tags, "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// makefileTags is the Makefile's `TAGS := ...`, so the test measures the
// same build as `make`.
func makefileTags(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, val, ok := strings.Cut(line, ":="); ok && strings.TrimSpace(name) == "TAGS" {
			return strings.Join(strings.Fields(val), ","), nil
		}
	}
	return "", fmt.Errorf("%s: no TAGS := line", path)
}

// runInitTrace runs `bin --version` with inittrace on and a near-empty
// environment (some std inits read it), and parses the trace.
func runInitTrace(t *testing.T, bin string) []initTrace {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--version")
	cmd.Env = []string{"GODEBUG=inittrace=1", "PATH=/usr/bin:/bin"}
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s --version: %v\n%s", bin, err, stderr.String())
	}
	traces, err := parseInitTrace(stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) == 0 {
		t.Fatalf("no inittrace lines in:\n%s", stderr.String())
	}
	return traces
}

// parseInitTrace reads the runtime's lines
// "init <pkg> @<t> ms, <n> ms clock, <bytes> bytes, <allocs> allocs".
func parseInitTrace(s string) ([]initTrace, error) {
	var out []initTrace
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 11 || f[0] != "init" || f[8] != "bytes," || f[10] != "allocs" {
			continue
		}
		b, err1 := strconv.Atoi(f[7])
		a, err2 := strconv.Atoi(f[9])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("inittrace line %q: bad counts", sc.Text())
		}
		out = append(out, initTrace{pkg: f[1], bytes: b, allocs: a})
	}
	return out, sc.Err()
}

// isStd: standard library paths (vendor/... too, GOROOT's own copies) have
// no dot in their first element.
func isStd(pkg string) bool {
	first, _, _ := strings.Cut(pkg, "/")
	return !strings.Contains(first, ".")
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestParseInitTrace(t *testing.T) {
	got, err := parseInitTrace("init runtime @0.025 ms, 0.11 ms clock, 0 bytes, 0 allocs\n" +
		"skiff version x\n" +
		"init github.com/opencontainers/go-digest @1.4 ms, 0.20 ms clock, 92432 bytes, 841 allocs\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []initTrace{{"runtime", 0, 0}, {"github.com/opencontainers/go-digest", 92432, 841}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for pkg, std := range map[string]bool{"unicode": true, "vendor/golang.org/x/net/idna": true, "golang.org/x/sys/unix": false, "github.com/skiff-dev/skiff/run": false} {
		if isStd(pkg) != std {
			t.Errorf("isStd(%q) = %v, want %v", pkg, !std, std)
		}
	}
}

// rolesDenied are packages skiff-roles (cmd/skiff-roles: a container's init,
// exec'd process and monitor, embedded in skiff and re-executed for every
// run and exec) must not link: each would bring network, registry or CLI
// set-up into those processes' start-up, which is what the separate program
// saves (~1 ms a process, issue 10). A prefix matches its subpackages. To
// change it deliberately, say in the commit what the roles need and what it
// costs them (`GODEBUG=inittrace=1 internal/rolesbin/skiff-roles`, make
// bench's -D timeline).
var rolesDenied = []string{
	"net/http", "crypto/tls", "crypto/x509",
	"github.com/google/go-containerregistry/pkg/v1/remote", "github.com/google/go-containerregistry/pkg/name",
	"github.com/opencontainers/go-digest", "github.com/docker/cli", "github.com/urfave/cli",
	"github.com/klauspost/compress",
	"github.com/skiff-dev/skiff/commands", "github.com/skiff-dev/skiff/registry",
	"github.com/skiff-dev/skiff/image", "github.com/skiff-dev/skiff/store", "github.com/skiff-dev/skiff/build",
}

func TestRolesProgramLinksNoNetworkOrRegistry(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./cmd/skiff-roles").Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/skiff-roles: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, d := range rolesDenied {
			if pkg == d || strings.HasPrefix(pkg, d+"/") {
				t.Errorf("skiff-roles links %s (denied: %s): the container init and monitor would pay its start-up; keep it out of their import graph", pkg, d)
			}
		}
	}
}
