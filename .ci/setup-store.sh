#!/usr/bin/env bash
# PostgreSQL for the store and end-to-end tests: installs it from Debian
# when it is missing, starts the cluster when it is stopped, and makes sure
# the tests can log in over TCP. A default Debian cluster asks for a
# password on 127.0.0.1, so when logging in without one fails, the
# postgres role gets a password (set through the local socket, as the
# postgres system user) instead of a hand-edited pg_hba.conf. Each test
# run creates its own database there (calgate_test_<random>) and drops it.
# Sourced by scripts/test from the repository root; idempotent. Exports
# CALGATE_TEST_DATABASE_URL.

store_setup_main() {
	if [ -n "${CALGATE_TEST_DATABASE_URL:-}" ]; then
		return 0
	fi
	if ! command -v pg_ctlcluster >/dev/null 2>&1; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y --no-install-recommends postgresql >/dev/null 2>&1 ||
			{ apt-get update >/dev/null && apt-get install -y --no-install-recommends postgresql >/dev/null; } ||
			{ echo "setup-store: cannot install postgresql" >&2; return 1; }
	fi
	if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
		local version
		version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)"
		if [ -z "$version" ]; then
			echo "setup-store: no PostgreSQL cluster in /etc/postgresql" >&2
			return 1
		fi
		pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
		for _ in $(seq 1 30); do
			pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && break
			sleep 1
		done
	fi
	pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || { echo "setup-store: PostgreSQL does not answer on 127.0.0.1:5432" >&2; return 1; }
	local url="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	if ! PGCONNECT_TIMEOUT=5 psql "$url" -Atc 'SELECT 1' >/dev/null 2>&1; then
		local password="calgate-test"
		runuser -u postgres -- psql -q -c "ALTER ROLE postgres PASSWORD '$password'" >/dev/null ||
			{ echo "setup-store: cannot give the postgres role a password" >&2; return 1; }
		url="postgres://postgres:$password@127.0.0.1:5432/postgres?sslmode=disable"
		PGCONNECT_TIMEOUT=5 psql "$url" -Atc 'SELECT 1' >/dev/null ||
			{ echo "setup-store: cannot log in to PostgreSQL on 127.0.0.1" >&2; return 1; }
	fi
	export CALGATE_TEST_DATABASE_URL="$url"
}

store_setup_main
