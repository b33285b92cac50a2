#!/usr/bin/env bash
# Installs what skiff's build, tests and demo need on Debian 12, only what is
# missing, and without recommended packages (a static build needs no C
# compiler). Running it again changes nothing.
#   docker-registry, busybox-static  the offline registry and busybox image
#   procps                           ps, which `skiff top` runs on the host
#   mount                            losetup, for the device tests
#   uidmap                           newuidmap and newgidmap (rootless skiff's user namespace)
#   fuse-overlayfs                   the rootless fallback storage the e2e tests force (skiff runs without it)
#   make, git                        the build and its version stamp
#   ca-certificates                  TLS for Go's module and toolchain downloads
#   Go >= 1.21                       see install_go
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# Each line: a file or command, and the Debian package that provides it.
provides='
/usr/bin/docker-registry docker-registry
/bin/busybox busybox-static
/etc/ssl/certs/ca-certificates.crt ca-certificates
ps procps
losetup mount
/usr/bin/newuidmap uidmap
/usr/bin/fuse-overlayfs fuse-overlayfs
make make
git git
'

# go_ok GO: GO runs and is >= 1.21, the first Go that honours GOTOOLCHAIN and
# so fetches go.mod's exact toolchain itself. Asked from / so that no go.mod
# is read.
go_ok() {
	local v major minor
	v=$(cd / && GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null) || return 1
	v=${v#go}
	major=${v%%.*}
	minor=${v#*.}
	minor=${minor%%[!0-9]*}
	[ "$major" -gt 1 ] || [ "${minor:-0}" -ge 21 ]
}

# install_go puts go.mod's Go toolchain in /usr/local/go. Debian 12's Go is
# 1.19, older than GOTOOLCHAIN, and the newer Go of bookworm-backports
# recommends gcc and g++. So Debian's Go 1.19, without its recommends, only
# downloads the toolchain module golang.org/toolchain (the very module that
# GOTOOLCHAIN=auto fetches) through the go command's default proxy, checked
# against the checksum database as any module is; then it is removed again.
install_go() {
	local boot=/usr/lib/go-1.19/bin/go had_boot=false ver arch tmp mod dst=/usr/local/go
	dpkg-query -W -f '${Status}\n' golang-1.19-go 2>/dev/null | grep -q 'ok installed' && had_boot=true
	$had_boot || apt-get install -y -qq --no-install-recommends golang-1.19-go >/dev/null
	ver=$(awk '$1 == "toolchain" {t = $2} $1 == "go" {g = "go" $2} END {print t ? t : g}' go.mod)
	arch=$("$boot" env GOHOSTARCH)
	mod=golang.org/toolchain@v0.0.1-$ver.linux-$arch
	tmp=$(mktemp -d)
	# Expanded now: the locals are gone when the script exits. Root removes
	# the read-only module files too.
	trap "rm -rf '$tmp' '$dst.tmp'" EXIT
	echo "deps: downloading $mod" >&2
	(cd "$tmp" && GOPATH=$tmp GOMODCACHE=$tmp/pkg/mod GOFLAGS= "$boot" mod download "$mod")
	# A module zip keeps no modes: make the files writable by root and the
	# commands executable, as the go command does for a toolchain it fetched.
	rm -rf "$dst.tmp"
	cp -a "$tmp/pkg/mod/$mod" "$dst.tmp"
	chmod -R u+w "$dst.tmp"
	find "$dst.tmp/bin" "$dst.tmp/pkg/tool" -type f -exec chmod a+x {} +
	mv "$dst.tmp" "$dst"
	$had_boot || apt-get purge -y -qq golang-1.19-go golang-1.19-src >/dev/null
}

# An earlier version of this script added bookworm-backports for its Go, which
# drags in gcc and g++; nothing here uses it any more.
old_backports=/etc/apt/sources.list.d/skiff-bookworm-backports.list
if [ -e "$old_backports" ] && [ "$(id -u)" = 0 ]; then
	echo "deps: removing $old_backports, no longer used" >&2
	rm -f "$old_backports"
fi

need=()
while read -r what pkg; do
	[ -n "$what" ] || continue
	case $what in
	/*) [ -e "$what" ] ;;
	*) command -v "$what" >/dev/null ;;
	esac || need+=("$pkg")
done <<<"$provides"
go_ok go && need_go=false || need_go=true

if [ ${#need[@]} -eq 0 ] && ! $need_go; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing ${need[*]:-}$($need_go && echo ' go>=1.21'); run as root to install them" >&2
	exit 0 # the e2e tests skip with their own message; unit tests still run
fi

if [ ${#need[@]} -gt 0 ] || { $need_go && [ ! -e /usr/local/go ]; }; then
	apt-get update -qq
fi
if [ ${#need[@]} -gt 0 ]; then
	echo "deps: installing ${need[*]}" >&2
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if $need_go; then
	[ -e /usr/local/go ] || install_go
	if ! go_ok /usr/local/go/bin/go; then
		echo "deps: /usr/local/go is older than Go 1.21; remove it and run $0 again" >&2
		exit 1
	fi
	ln -sf /usr/local/go/bin/go /usr/local/go/bin/gofmt /usr/local/bin/
fi
# Fetches go.mod's toolchain if the Go found is another version, so that a
# missing network shows here and not in the middle of a build.
GOTOOLCHAIN=auto go version
