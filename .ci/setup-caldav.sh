#!/usr/bin/env bash
# Installs the CalDAV servers that the sync/caldav tests run against:
# Radicale (with htpasswd authentication, plain-text file) and Xandikos.
# Idempotent: installs only what is missing. Meant to be sourced by .ci/run.

caldav_missing=()
command -v radicale >/dev/null 2>&1 || caldav_missing+=(radicale)
command -v xandikos >/dev/null 2>&1 || caldav_missing+=(xandikos)

if [ "${#caldav_missing[@]}" -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${caldav_missing[@]}"; then
		apt-get update && apt-get install -y --no-install-recommends "${caldav_missing[@]}"
	fi
fi
unset caldav_missing
