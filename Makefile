# skiff: one static binary. `make` builds bin/skiff; `make test` runs everything.
GO         ?= go
PREFIX     ?= /usr/local
# As root in a tree another user cloned (sudo make ...), git refuses the
# repository ("dubious ownership") and go build's VCS stamp fails. Trust this one
# tree in make's own commands: whoever runs make runs this tree's code anyway.
# ($(shell) gets no exported variables before GNU make 4.4, hence GIT.)
export GIT_CONFIG_COUNT   := 1
export GIT_CONFIG_KEY_0   := safe.directory
export GIT_CONFIG_VALUE_0 := $(CURDIR)
GIT        := git -c safe.directory=$(CURDIR)
VERSION    := $(shell $(GIT) describe --always --dirty 2>/dev/null || echo dev)
# `version`'s Git commit and Built (the commit's time, reproducible) where Go
# stamps no VCS info (git worktrees, -buildvcs=false).
GITCOMMIT  := $(shell $(GIT) rev-parse --short HEAD 2>/dev/null)
BUILDTIME  := $(shell $(GIT) log -1 --format=%cI 2>/dev/null)
LDFLAGS    := -s -w -X github.com/skiff-dev/skiff/commands.Version=$(VERSION) \
              -X github.com/skiff-dev/skiff/commands.GitCommit=$(GITCOMMIT) \
              -X github.com/skiff-dev/skiff/commands.BuildTime=$(BUILDTIME)
# A Debian Go older than go.mod's fetches the right toolchain from the module proxy.
export GOTOOLCHAIN ?= auto
export CGO_ENABLED := 0
# urfave/cli's man-page generator (blackfriday) costs ~0.5 ms of package init
# in every skiff process, the re-exec'd init too; skiff never generates docs.
TAGS       := urfave_cli_no_docs

.PHONY: all build test unit e2e e2e-v2 deps bench demo install clean

all: build

build: bin/skiff

# skiff-roles (cmd/skiff-roles: a container's init, exec'd process and
# monitor, without the CLI, registry client and HTTP stack) is built first and
# embedded in skiff, which installs it under its run root and re-executes it
# instead of itself: each of a run's re-exec'd processes starts ~1 ms sooner
# (issue 10). Its sha256 names the installed copy. A plain `go build` embeds
# nothing and re-executes skiff itself.
ROLES      := internal/rolesbin/skiff-roles

# Always rebuilt: go's own cache makes a no-op build cheap, and make cannot see Go's dependencies.
.PHONY: bin/skiff
bin/skiff:
	$(GO) build -tags $(TAGS) -trimpath -ldflags "-s -w" -o $(ROLES) ./cmd/skiff-roles
	$(GO) build -tags $(TAGS),skiff_roles -trimpath \
		-ldflags "$(LDFLAGS) -X github.com/skiff-dev/skiff/internal/rolesbin.Digest=$$(sha256sum $(ROLES) | cut -c1-64)" -o $@ .

# Both halves run even when the first fails, so one CI run shows every failure.
# deps first: some unit tests run host tools (busybox) a fresh machine lacks.
test: deps
	@rc=0; $(MAKE) --no-print-directory unit || rc=1; $(MAKE) --no-print-directory e2e || rc=1; exit $$rc

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /e2e$$)

# e2e needs root, docker-registry and busybox-static: deps installs what is missing.
e2e: deps bin/skiff
	SKIFF_BIN=$(CURDIR)/bin/skiff SKIFF_EXPECT_ROLES=1 $(GO) test -count=1 -v -timeout 40m ./e2e/

# The lifecycle and limits e2e subset on a real cgroup v2 host: a Debian
# guest under qemu (software emulation), see scripts/e2e-v2.sh. Needs root.
e2e-v2: bin/skiff
	SKIFF_BIN=$(CURDIR)/bin/skiff GO=$(GO) ./scripts/e2e-v2.sh

deps:
	./scripts/deps.sh

bench: bin/skiff
	SKIFF_BIN=$(CURDIR)/bin/skiff $(GO) run ./bench $(BENCH_ARGS)

demo:
	./scripts/setup.sh

install: bin/skiff
	install -D -m 0755 bin/skiff $(DESTDIR)$(PREFIX)/bin/skiff

clean:
	rm -rf bin $(ROLES)
