#!/usr/bin/env bash
# Installs Debian's Chromium, which the console's browser tests drive
# headless (through chromedp), and exports CALGATE_TEST_CHROMIUM.
# Idempotent; sourced by scripts/test from the repository root. Under
# CI=true a browser that cannot be had fails the tests that need it.

browser_setup_main() {
	if ! command -v chromium >/dev/null 2>&1; then
		export DEBIAN_FRONTEND=noninteractive
		if ! apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
			apt-get update >/dev/null &&
				apt-get install -y --no-install-recommends chromium >/dev/null ||
				{ echo "setup-browser: cannot install chromium" >&2; return 1; }
		fi
	fi
	CALGATE_TEST_CHROMIUM="$(command -v chromium)"
	export CALGATE_TEST_CHROMIUM
}

browser_setup_main
