#!/bin/sh
# tools/deps.sh - make sure the Debian packages odpsim builds with are here.
# Installs them with apt-get (as root, or through sudo) when missing, or
# names them in a one-line error.  "--plot" also requires matplotlib for the
# plotting scripts (python3-matplotlib, imported by /usr/bin/python3).
set -u
PKGS_BUILD="libglib2.0-dev libelf-dev libsqlite3-dev check pkg-config"
PKGS_PLOT="python3-matplotlib"

missing=""
have_pc() { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$1"; }
have_pc glib-2.0 || missing="$missing libglib2.0-dev"
have_pc libelf || missing="$missing libelf-dev"
have_pc sqlite3 || missing="$missing libsqlite3-dev"
have_pc check || missing="$missing check"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
if [ "${1:-}" = "--plot" ]; then
	/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1 || missing="$missing $PKGS_PLOT"
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo -n"
else
	echo "odpsim: missing Debian packages:$missing; install them with: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "odpsim: installing missing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null 2>&1 || true
if ! $SUDO apt-get install -y -q $missing >/dev/null; then
	echo "odpsim: apt-get install failed for:$missing" >&2
	exit 1
fi
