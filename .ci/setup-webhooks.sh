#!/usr/bin/env bash
# Installs the reference Standard Webhooks verifier (npm "standardwebhooks")
# that the webhooks tests run through node to check our signatures, and
# exports CALGATE_TEST_NODE_PATH. Node comes from setup-node.sh. Idempotent;
# meant to be sourced from the repository root, so it leaves the caller's
# shell options alone.

(
	set -euo pipefail
	if [ ! -f .ci/.tools/node_modules/standardwebhooks/package.json ]; then
		mkdir -p .ci/.tools
		npm install --prefix .ci/.tools --no-audit --no-fund standardwebhooks@1.1.1
	fi
) || { echo "setup-webhooks: installing the standardwebhooks verifier failed" >&2; return 1 2>/dev/null || exit 1; }

export CALGATE_TEST_NODE_PATH="$PWD/.ci/.tools/node_modules"
