#!/bin/sh
# Install the Debian packages named as arguments, if any is missing.
# As root: apt-get.  Otherwise sudo when available, else print the command.
missing=""
for p in "$@"; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$s" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "make deps: missing packages:$missing" >&2
	echo "make deps: run as root: apt-get update && $cmd" >&2
	exit 1
fi
echo "make deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2 || exit 1
# shellcheck disable=SC2086
$sudo $cmd >&2 || exit 1
