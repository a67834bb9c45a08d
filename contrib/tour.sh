#!/bin/sh
# The README's tour, run as it is written: the commands between the
# "tour: begin" and "tour: end" markers of README.md ("    $ " starts a
# command, deeper-indented lines continue it) are run in order by bash,
# stopping at the first failure, in the current directory; each command
# is echoed on stderr as written.
#   contrib/tour.sh            run the tour (the built programs first on PATH)
#   contrib/tour.sh --print    print the commands only
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
readme=$top/README.md

commands() {
	awk '
		/<!-- tour: begin -->/ { on = 1; next }
		/<!-- tour: end -->/ { on = 0 }
		!on { next }
		/^    \$ / { sub(/^    \$ /, ""); print; cmd = 1; next }
		/^        / && cmd { sub(/^        /, "    "); print; next }
		{ cmd = 0 }
	' "$readme"
}

if [ "${1:-}" = --print ]; then
	commands
	exit 0
fi
PATH="$top/bin:$PATH"
export PATH
script=$(commands)
if [ -z "$script" ]; then
	echo "tour: no commands between the tour markers of $readme" >&2
	exit 1
fi
printf '%s\n' "$script" | bash -euo pipefail -v
