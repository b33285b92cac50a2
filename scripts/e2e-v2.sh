#!/usr/bin/env bash
# e2e-v2: runs the lifecycle, limits, seccomp, device and privilege e2e subset on a real cgroup v2 host.
# This machine is a cgroup v1 hybrid; Debian 12 and most distributions boot
# with cgroup v2 only. So: a Debian kernel (linux-image-amd64) and a small
# Debian root file system (mmdebstrap: busybox-static, docker-registry) boot
# under qemu with software emulation (TCG: no KVM needed), cgroup v1 switched
# off (cgroup_no_v1=all), no systemd: a small init (hack/e2e-v2/guest-init)
# mounts cgroup2 at /sys/fs/cgroup, enables every controller at its root as
# systemd would, runs the e2e test binary and powers off. The binaries come
# in and the results go out through a 9p share; the guest's exit status is
# this script's. The guest has no network device at all.
#
# The image is cached under $SKIFF_E2E_V2_CACHE (/var/tmp/skiff-e2e-v2),
# keyed by its package list: a second run only rebuilds skiff and the test
# binary. Each run boots a throw-away qcow2 overlay of it.
#
# Environment: SKIFF_BIN (default bin/skiff), E2E_V2_RUN (go test -run
# pattern), E2E_V2_MEM (MiB, 3072), E2E_V2_CPUS (2), E2E_V2_TIMEOUT
# (seconds for the whole boot, 3600), SKIFF_E2E_V2_MIRROR.
# Exit status: the guest's tests' (0 pass, 1 fail), 0 with "skipped: why"
# where qemu cannot run here.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

cache=${SKIFF_E2E_V2_CACHE:-/var/tmp/skiff-e2e-v2}
mirror=${SKIFF_E2E_V2_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
# The lifecycle tests, pause/freeze, exec, kill, isolation, and issue 16's
# limits and stats tests.
pattern=${E2E_V2_RUN:-'^(TestRunDetached|TestCreateStart|TestStop|TestRestartCommand|TestKill|TestKillCLI|TestKillMonitor|TestRm|TestWait|TestExec|TestTop|TestInspect|TestParallelLifecycle|TestNoDaemonLeft|TestContainerLifecycle|TestRunExitCodes|TestPause|TestStartPausedRefused|TestIsolation|TestSignalsReachTheContainer|TestRestartPolicy|TestInit|TestI16.*|TestI17.*|TestI18Dev.*|TestI18Flags.*)$'}
mem=${E2E_V2_MEM:-3072}
cpus=${E2E_V2_CPUS:-2}
limit=${E2E_V2_TIMEOUT:-3600}
# What the guest needs: the kernel (its initramfs loads virtio and ext4),
# kmod so the kernel loads bridge, veth and nftables modules on demand,
# the e2e suite's registry and busybox, losetup (mount), bash.
packages=linux-image-amd64,kmod,busybox-static,docker-registry,mount,procps
image_version=1 # bump when the image's making below changes

skip() {
	echo "e2e-v2: skipped: $*" >&2
	exit 0
}

# need_tools installs qemu and mmdebstrap where apt can (as scripts/deps.sh
# does for the e2e tools); elsewhere the run skips.
need_tools() {
	local missing=()
	command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
	command -v qemu-img >/dev/null || missing+=(qemu-utils)
	command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
	command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
	[ ${#missing[@]} -eq 0 ] && return
	command -v apt-get >/dev/null || skip "no apt-get to install ${missing[*]}"
	echo "e2e-v2: installing ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
		skip "cannot install ${missing[*]}"
}

# build_image makes $1/{root.img,vmlinuz,initrd.img}: the root file system
# as a raw ext4 image, and its kernel and initramfs for qemu's -kernel.
build_image() {
	local img=$1 tmp
	tmp=$(mktemp -d "$cache/build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	echo "e2e-v2: building the guest image (once; cached in $img)" >&2
	mmdebstrap --mode=root --variant=minbase --include="$packages" \
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		"$suite" "$tmp/root" "$mirror" >&2
	install -m 0755 hack/e2e-v2/stage0 "$tmp/root/sbin/skiff-e2e-stage0"
	mkdir -p "$tmp/root/host"
	cp "$tmp/root"/boot/vmlinuz-* "$tmp/vmlinuz"
	cp "$tmp/root"/boot/initrd.img-* "$tmp/initrd.img"
	rm -rf "$tmp/root"/var/cache/apt/* "$tmp/root"/var/lib/apt/lists/*
	# Sparse: the tests' images, containers and registry live on it.
	mkfs.ext4 -q -L skiff-e2e-v2 -d "$tmp/root" "$tmp/root.img" 4G
	rm -rf "$tmp/root"
	rm -rf "$cache"/image-* # an older package list's image
	mkdir -p "$img"
	mv "$tmp/root.img" "$tmp/vmlinuz" "$tmp/initrd.img" "$img/"
	rm -rf "$tmp"
	trap - EXIT
}

begin=$(date +%s)
[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] || skip "needs Linux on x86_64, this is $(uname -s)/$(uname -m)"
[ "$(id -u)" = 0 ] || skip "needs root (mmdebstrap and the image's file ownership): run \`sudo make e2e-v2\`"
need_tools

skiff=${SKIFF_BIN:-$repo/bin/skiff}
[ -x "$skiff" ] || { echo "e2e-v2: no skiff binary at $skiff (make build)" >&2; exit 1; }

mkdir -p "$cache"
key=$(printf '%s\n' "$suite" "$packages" "$image_version" | cat - hack/e2e-v2/stage0 | sha256sum | cut -c1-16)
img=$cache/image-$key
[ -f "$img/root.img" ] || build_image "$img"
echo "e2e-v2: image ready after $(($(date +%s) - begin))s" >&2

run=$(mktemp -d "$cache/run.XXXXXX")
trap 'rm -rf "$run"' EXIT
share=$run/share
mkdir -p "$share/e2e"
install -m 0755 "$skiff" "$share/skiff"
install -m 0755 hack/e2e-v2/guest-init "$share/guest-init"
cp -r e2e/testdata "$share/e2e/"
# The tests' programs, built here: the guest has no Go toolchain.
mkdir -p "$share/e2e/progs"
for d in e2e/testdata/*/; do
	prog=$(basename "$d")
	CGO_ENABLED=0 ${GO:-go} build -trimpath -o "$share/e2e/progs/$prog" "./$d"
done
printf '%s\n' "$pattern" >"$share/pattern"
echo "e2e-v2: building the e2e test binary" >&2
CGO_ENABLED=0 ${GO:-go} test -c -o "$share/e2e.test" ./e2e/
qemu-img create -q -f qcow2 -F raw -b "$img/root.img" "$run/root.qcow2"

# Software emulation; KVM where this machine offers it (not this VM: its
# CPU has no vmx/svm), which only makes the same guest faster.
accel=(-accel tcg,thread=multi)
if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qE '\<(vmx|svm)\>' /proc/cpuinfo; then
	accel=(-accel kvm "${accel[@]}")
fi
echo "e2e-v2: booting (${accel[*]}, $cpus CPUs, ${mem} MiB); tests: $pattern" >&2
start=$(date +%s)
rc=0
timeout --foreground "$limit" qemu-system-x86_64 \
	-machine q35 "${accel[@]}" -cpu max -smp "$cpus" -m "$mem" \
	-nographic -monitor none -serial stdio -no-reboot -nic none \
	-kernel "$img/vmlinuz" -initrd "$img/initrd.img" \
	-append "root=/dev/vda rw rootfstype=ext4 console=ttyS0 quiet loglevel=3 panic=-1 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 init=/sbin/skiff-e2e-stage0" \
	-drive "file=$run/root.qcow2,format=qcow2,if=virtio,cache=unsafe" \
	-virtfs "local,path=$share,mount_tag=host,security_model=none,id=host" \
	</dev/null || rc=$?
echo "e2e-v2: guest ran $(($(date +%s) - start))s" >&2
if [ ! -f "$share/rc" ]; then
	echo "e2e-v2: the guest reported no exit status (qemu exit $rc): see the console above" >&2
	exit 1
fi
cp "$share/test.log" "$cache/last-test.log" 2>/dev/null || true
cp "$share/dmesg.log" "$cache/last-dmesg.log" 2>/dev/null || true
guest_rc=$(cat "$share/rc")
echo "e2e-v2: guest tests exited $guest_rc (logs: $cache/last-test.log, last-dmesg.log); $(($(date +%s) - begin))s in all" >&2
[ "$guest_rc" = 0 ]
