package main

// The import rule of docs/design.md, and a doc comment on every package:
// plain unit tests, so `make unit` (and any go test ./...) holds the line.

import (
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/skiff-dev/skiff"

// allowedImports is the import rule of docs/design.md: which project packages
// each package may import. Leaves import none but the internal helpers;
// run never reaches registry; container is the host side of a container,
// run the runtime below it.
var allowedImports = map[string][]string{
	"":                {"commands", "roles"}, // main
	"cmd/skiff-roles": {"roles"},             // the embedded program of the re-exec'd roles
	"roles":           {"run", "monitor", "monitor/server", "userns"},
	"commands":        {"build", "image", "container", "spec", "run", "registry", "store", "state", "config", "network", "attach", "logfile", "cgroup", "volume", "internal/units", "internal/shortid", "internal/procstat", "internal/timeline", "internal/rolesbin", "userns"},
	"container":       {"run", "spec", "monitor", "rootfs", "archive", "cgroup", "state", "proc", "attach", "volume", "network", "ns", "seccomp", "dns", "internal/shortid", "internal/timeline", "userns", "tapnet"},
	"monitor":         {"state", "proc", "attach", "internal/shortid", "internal/rolesbin", "userns"},                                                                 // attach: RunInside and SignalContainer speak to the monitor
	"build":           {"run", "registry", "image", "container", "spec", "store", "archive", "rootfs", "state", "cgroup", "network", "internal/decompress", "userns"}, // the Dockerfile front end resolves paths with rootfs; the executor the rest
	"run":             {"spec", "rootfs", "ns", "cgroup", "network", "state", "proc", "seccomp", "internal/timeline", "internal/rolesbin", "userns"},
	"spec":            {"state", "seccomp", "internal/shortid"},
	"rootfs":          {"archive", "proc", "userns"},
	"registry":        {"archive", "store", "internal/units", "internal/shortid", "internal/decompress"},
	"image":           {"archive", "store", "internal/decompress"},
	"archive":         {}, "ns": {}, "seccomp": {}, "cgroup": {"internal/shortid"}, "network": {}, "store": {}, "volume": {}, "state": {"internal/shortid", "proc"}, "config": {},
	"attach": {"internal/timeline"}, "logfile": {}, "proc": {"internal/procstat"}, "dns": {},
	"userns": {"internal/timeline"}, // the rootless user namespace (issue 20)
	"tapnet": {},                    // a rootless container's user-mode network (issue 21)
	// Helpers below the leaves, one job each: they import no project package.
	"internal/units": {}, "internal/shortid": {}, "internal/procstat": {}, "internal/timeline": {}, "internal/decompress": {}, "internal/rolesbin": {},
	"internal/testenv": {},

	// The monitor process: package monitor spawns it and main dispatches
	// it; it starts and records the container through container.
	"monitor/server": {"container", "run", "monitor", "state", "cgroup", "attach", "logfile", "internal/shortid", "internal/timeline", "userns"},
}

// tools are the packages outside the graph: tests, the benchmark and
// helper programs, which may import anything.
var tools = []string{"e2e", "bench", "bench/tapnetprog", "hack/demo-image"}

type goPackage struct {
	ImportPath string
	Doc        string
	Imports    []string
	Deps       []string
	GoFiles    []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = filepath.Dir(file)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

func TestImportRule(t *testing.T) {
	for _, p := range listPackages(t) {
		name, _ := rel(p.ImportPath)
		allowed, ruled := allowedImports[name]
		if !ruled {
			if !slices.Contains(tools, name) {
				t.Errorf("package %q is in neither the import rule nor the tools: add it to allowedImports (and docs/design.md)", p.ImportPath)
			}
			continue
		}
		t.Run(p.ImportPath, func(t *testing.T) {
			for _, imp := range p.Imports {
				dep, ours := rel(imp)
				if ours && !slices.Contains(allowed, dep) {
					t.Errorf("%s imports %s; docs/design.md allows only %v", p.ImportPath, imp, allowed)
				}
			}
			if name == "run" {
				for _, d := range p.Deps {
					if d == module+"/registry" {
						t.Errorf("run reaches registry through its dependencies; a command pulls, then hands run a *store.Image")
					}
				}
			}
		})
	}
}

func TestEveryPackageHasADocComment(t *testing.T) {
	var missing []string
	for _, p := range listPackages(t) {
		if p.Doc == "" && len(p.GoFiles) > 0 {
			missing = append(missing, p.ImportPath)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("packages without a doc comment: %v", missing)
	}
}
