#!/usr/bin/env bash
# The offline demo: no internet registry is needed. Starts Debian's
# docker-registry on 127.0.0.1:5000 with a throwaway config and storage, pushes a
# busybox image built from the host's /bin/busybox, pulls it with skiff, tags it
# `busybox`, stops the registry and runs a container from it, so that
# `skiff run busybox ...` keeps working offline afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
SKIFF=${SKIFF:-skiff}
PORT=${DEMO_PORT:-5000}
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
[ -x /usr/local/go/bin/go ] && export PATH=$PATH:/usr/local/go/bin

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if port_open "$PORT"; then
	echo "demo: 127.0.0.1:$PORT is taken (a docker-registry service?); set DEMO_PORT to a free port" >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/skiff-demo.XXXXXX)
reg_pid=
cleanup() {
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

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
  addr: 127.0.0.1:$PORT
YAML
/usr/bin/docker-registry serve "$tmp/config.yml" >"$tmp/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do port_open "$PORT" && break; sleep 0.1; done
port_open "$PORT" || { cat "$tmp/registry.log" >&2; echo "demo: registry did not start" >&2; exit 1; }

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
