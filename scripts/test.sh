#!/usr/bin/env bash
# The one test command: provision, install, build, lint, typecheck and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - start ))s)"; }

step provision
bash scripts/provision.sh

step "npm ci"
npm ci --no-audit --no-fund --loglevel=error

step build
npm run --silent build

step lint
npm run --silent lint

step typecheck
npm run --silent typecheck

step format
npm run --silent format:check

step test
npx vitest run --reporter=default

step "done in $(( $(date +%s) - start ))s"
