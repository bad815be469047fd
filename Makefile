# The two commands of the README.
.PHONY: run test bench

# Start the gateway on the embedded defaults (SQLite, in-process Redis).
run:
	go run ./cmd/calgate serve

# Run every test against real PostgreSQL, Redis and CalDAV servers.
test:
	./scripts/test

# Run the benchmarks (not part of the test suite).
bench:
	./scripts/test bench
