#!/usr/bin/env bash
# CSV answers are checked by opening them in a spreadsheet: Gnumeric's
# ssconvert turns a CSV file into a workbook as opening it would, and the
# tests read that workbook back. Idempotent; sourced by scripts/test from
# the repository root.

csv_setup_main() {
	if command -v ssconvert >/dev/null 2>&1; then
		return 0
	fi
	if ! apt-get install -y --no-install-recommends gnumeric >/dev/null 2>&1; then
		apt-get update >/dev/null &&
			apt-get install -y --no-install-recommends gnumeric >/dev/null ||
			{ echo "setup-csv: cannot install gnumeric (ssconvert)" >&2; return 1; }
	fi
}

csv_setup_main
