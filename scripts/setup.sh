#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, as root: installs what is missing (see
# deps.sh), builds and installs skiff to /usr/local/bin, then runs the offline
# demo container (see demo.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "setup: run as root: in a root shell, or with sudo $0" >&2
	exit 1
fi
./scripts/deps.sh
[ -x /usr/local/go/bin/go ] && export PATH=$PATH:/usr/local/go/bin
make build install
./scripts/demo.sh
