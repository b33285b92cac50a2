#!/usr/bin/env bash
# Installs what skiff's build, tests and demo need on Debian 12, only what is
# missing: docker-registry and busybox-static (the offline registry and the
# busybox image), make/git/file, and a Go able to build go.mod's version.
# Debian 12 ships Go 1.19, too old even to fetch a newer toolchain, so a Go
# >= 1.21 comes from bookworm-backports and GOTOOLCHAIN=auto then fetches
# go.mod's exact toolchain from the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

need=()
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
[ -x /bin/busybox ] || need+=(busybox-static)
for tool in make git file script; do
	command -v "$tool" >/dev/null || need+=("$([ "$tool" = script ] && echo bsdutils || echo "$tool")")
done

# go_usable: a go on PATH that is >= 1.21 (so it honours GOTOOLCHAIN=auto).
go_usable() {
	command -v go >/dev/null || return 1
	local v
	v=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null) || return 1
	v=${v#go}
	local major=${v%%.*} rest=${v#*.}
	local minor=${rest%%[!0-9]*}
	[ "$major" -gt 1 ] || [ "$minor" -ge 21 ]
}
[ -x /usr/local/go/bin/go ] && export PATH=$PATH:/usr/local/go/bin

if [ ${#need[@]} -eq 0 ] && go_usable; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing ${need[*]:-}$(go_usable || echo ' go>=1.21'); run as root (sudo $0) to install them" >&2
	exit 0 # the e2e tests skip with their own message; unit tests still run
fi

apt-get update -qq
if [ ${#need[@]} -gt 0 ]; then
	apt-get install -y -qq "${need[@]}"
fi

if ! go_usable; then
	if [ -x /usr/local/go/bin/go ]; then
		ln -sf /usr/local/go/bin/go /usr/local/bin/go
	else
		uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
		[ -n "$uri" ] || uri=$(awk '/^deb / && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list)
		echo "deb $uri bookworm-backports main" >/etc/apt/sources.list.d/skiff-bookworm-backports.list
		apt-get update -qq
		pkg=$(apt-cache search --names-only '^golang-1\.[0-9]+-go$' | awk '{print $1}' | sort -V | tail -1)
		apt-get install -y -qq -t bookworm-backports "$pkg"
		ver=${pkg#golang-}
		ln -sf "/usr/lib/go-${ver%-go}/bin/go" /usr/local/bin/go
	fi
	go_usable || { echo "deps: could not install a Go >= 1.21" >&2; exit 1; }
fi
# Fetch go.mod's toolchain now, so a missing proxy shows here and not mid-build.
GOTOOLCHAIN=auto go version
