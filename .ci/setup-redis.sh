#!/usr/bin/env bash
# Redis for the queue and end-to-end tests: installs redis-server from
# Debian when it is missing and starts one without persistence on
# 127.0.0.1:6379 when none answers there. Tests that empty or restart Redis
# start servers of their own from the same binary. Sourced by scripts/test
# from the repository root; idempotent. Exports CALGATE_TEST_REDIS_URL.

redis_setup_main() {
	if [ -n "${CALGATE_TEST_REDIS_URL:-}" ]; then
		return 0
	fi
	if ! command -v redis-server >/dev/null 2>&1; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y --no-install-recommends redis-server >/dev/null 2>&1 ||
			{ apt-get update >/dev/null && apt-get install -y --no-install-recommends redis-server >/dev/null; } ||
			{ echo "setup-redis: cannot install redis-server" >&2; return 1; }
	fi
	if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
		mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
		redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
			--dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null || true
		for _ in $(seq 1 30); do
			redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
			sleep 1
		done
	fi
	redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { echo "setup-redis: Redis does not answer on 127.0.0.1:6379" >&2; return 1; }
	export CALGATE_TEST_REDIS_URL="redis://127.0.0.1:6379/0"
}

redis_setup_main
