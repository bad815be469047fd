#!/usr/bin/env bash
# Installs the two independent iCalendar parsers that the ical package's
# tests validate rendered feeds with: Debian's python3-icalendar and ical.js
# (the parser inside Thunderbird). Idempotent; sourced by .ci/run from the
# repository root, so it exports the variables the tests read.

ical_setup_main() {
	local root="$PWD"
	if ! /usr/bin/python3 -c 'import icalendar' >/dev/null 2>&1; then
		if ! apt-get install -y --no-install-recommends python3-icalendar >/dev/null 2>&1; then
			apt-get update >/dev/null &&
				apt-get install -y --no-install-recommends python3-icalendar >/dev/null ||
				{ echo "setup-ical: cannot install python3-icalendar" >&2; return 1; }
		fi
	fi
	if [ ! -f "$root/.ci/.tools/node_modules/ical.js/package.json" ]; then
		mkdir -p "$root/.ci/.tools"
		npm install --prefix "$root/.ci/.tools" --no-audit --no-fund --loglevel=error ical.js@2 >/dev/null ||
			{ echo "setup-ical: cannot install ical.js with npm" >&2; return 1; }
	fi
	export CALGATE_TEST_NODE_PATH="$root/.ci/.tools/node_modules"
	export CALGATE_TEST_PYTHON=/usr/bin/python3
}

ical_setup_main
