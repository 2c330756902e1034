#!/usr/bin/env bash
# Starts `padron serve` on a fresh database (SQLite, and PostgreSQL when
# PADRON_TEST_POSTGRES_URL is set), creates a client and runs ../shared/checks/seed_flow.py
# against it. Exits non-zero if any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
check="../shared/checks/seed_flow.py"
if [ ! -f "$check" ]; then
  echo "skipped: $check not found"
  exit 0
fi
cargo build --locked --bin padron
bin=target/debug/padron
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

run_flow() { # name database-url port
  local name=$1 url=$2 port=$3
  echo "-- seed flow on $name"
  "$bin" --database "$url" client create --name "Seed flow" --json > "$work/$name.json"
  "$bin" --database "$url" serve --listen "127.0.0.1:$port" > "$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  python3 "$check" "http://127.0.0.1:$port" "$work/$name.json"
}

run_flow sqlite "sqlite://$work/padron.db" 18931
if [ -n "${PADRON_TEST_POSTGRES_URL:-}" ]; then
  db="padron_seed_$$"
  psql "$PADRON_TEST_POSTGRES_URL" -qc "drop database if exists $db" -c "create database $db" 2>&1 | grep -v NOTICE || true
  base="${PADRON_TEST_POSTGRES_URL%/*}"
  run_flow postgres "$base/$db" 18932
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  pids=()
  psql "$PADRON_TEST_POSTGRES_URL" -qc "drop database if exists $db"
fi
