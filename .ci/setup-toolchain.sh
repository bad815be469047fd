#!/usr/bin/env bash
# The race detector needs cgo, and cgo a C compiler: installs gcc and the C
# library headers from Debian when they are missing. Sourced by
# scripts/test; idempotent.

if ! command -v gcc >/dev/null 2>&1 || [ ! -f /usr/include/stdlib.h ]; then
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends gcc libc6-dev; then
		apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev
	fi
fi
export CGO_ENABLED=1
