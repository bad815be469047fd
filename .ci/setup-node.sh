#!/usr/bin/env bash
# Installs Node.js and npm from Debian when they are missing. Sourced by
# scripts/test before every other setup script, because several of them
# install reference tools with npm. Idempotent.

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends nodejs npm; then
		apt-get update && apt-get install -y --no-install-recommends nodejs npm
	fi
fi
