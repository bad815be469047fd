#!/usr/bin/env bash
# Store tests: a local PostgreSQL with trust auth for 127.0.0.1. Each test
# run creates its own database there (calgate_test_<random>) and drops it.
# Sourced by .ci/run from the repository root; idempotent.

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
	if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
		pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
	fi
	for _ in $(seq 1 30); do
		pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && break
		sleep 1
	done
fi

export CALGATE_TEST_DATABASE_URL="${CALGATE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
