#!/usr/bin/env bash
# The offline demo: no internet registry is needed. Starts Debian's
# docker-registry on a free loopback port (127.0.0.1:5000 unless taken, e.g. by
# the docker-registry service Debian's package starts, which is left alone) with
# a throwaway config and storage, pushes a busybox image built from the host's
# /bin/busybox, pulls it with skiff, tags it `busybox`, stops the registry and
# runs a container from it, so that `skiff run busybox ...` keeps working
# offline afterwards. DEMO_PORT=N uses port N or fails.
set -euo pipefail
cd "$(dirname "$0")/.."
SKIFF=${SKIFF:-skiff}
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
[ -x /usr/local/go/bin/go ] && export PATH=$PATH:/usr/local/go/bin

tmp=$(mktemp -d /tmp/skiff-demo.XXXXXX)
reg_pid=
cleanup() {
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_registry PORT: serves a registry on 127.0.0.1:PORT, or fails when it
# cannot listen there (another program may take the port after the check).
start_registry() {
	cat >"$tmp/config.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $tmp/storage
http:
  addr: 127.0.0.1:$1
YAML
	/usr/bin/docker-registry serve "$tmp/config.yml" >"$tmp/registry.log" 2>&1 &
	reg_pid=$!
	for _ in $(seq 100); do
		if ! kill -0 "$reg_pid" 2>/dev/null; then
			wait "$reg_pid" || true
			reg_pid=
			return 1
		fi
		port_open "$1" && return 0
		sleep 0.1
	done
	cat "$tmp/registry.log" >&2
	echo "demo: the registry did not answer on 127.0.0.1:$1" >&2
	exit 1
}

PORT=
for port in ${DEMO_PORT:-$(seq 5000 5099)}; do
	if ! port_open "$port" && start_registry "$port"; then
		PORT=$port
		break
	fi
done
if [ -z "$PORT" ]; then
	[ -s "$tmp/registry.log" ] && cat "$tmp/registry.log" >&2
	if [ -n "${DEMO_PORT:-}" ]; then
		echo "demo: cannot serve a registry on 127.0.0.1:$DEMO_PORT (taken?); unset DEMO_PORT to pick a free port" >&2
	else
		echo "demo: no free port in 127.0.0.1:5000-5099 for the registry" >&2
	fi
	exit 1
fi
echo "demo: registry on 127.0.0.1:$PORT"

ref=127.0.0.1:$PORT/library/busybox
go run ./hack/demo-image "$ref:latest"
set -x
"$SKIFF" --insecure-registry "127.0.0.1:$PORT" pull "$ref"
"$SKIFF" tag "$ref" busybox
{ set +x; } 2>/dev/null
kill "$reg_pid" && wait "$reg_pid" 2>/dev/null || true
reg_pid=
set -x
"$SKIFF" run --rm busybox echo hello from skiff
{ set +x; } 2>/dev/null
echo "demo: done; try: $SKIFF run --rm -it busybox sh"
