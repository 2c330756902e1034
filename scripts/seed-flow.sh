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

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

run_flow() { # name database-url
  local name=$1 url=$2 port
  port=$(free_port)
  echo "-- seed flow on $name"
  "$bin" --database "$url" client create --name "Seed flow" --json > "$work/$name.json"
  "$bin" --database "$url" serve --listen "127.0.0.1:$port" > "$work/$name.log" 2>&1 &
  pids+=($!)
  local ready=no
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=yes; break; fi
    sleep 0.1
  done
  if [ "$ready" != yes ]; then
    echo "FATAL: padron serve did not become ready on port $port; its log:" >&2
    cat "$work/$name.log" >&2
    return 1
  fi
  python3 "$check" "http://127.0.0.1:$port" "$work/$name.json"
}

run_flow sqlite "sqlite://$work/padron.db"
if [ -n "${PADRON_TEST_POSTGRES_URL:-}" ]; then
  db="padron_seed_$$"
  psql "$PADRON_TEST_POSTGRES_URL" -qc "set client_min_messages = warning" -c "drop database if exists $db" -c "create database $db"
  base="${PADRON_TEST_POSTGRES_URL%/*}"
  run_flow postgres "$base/$db"
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  pids=()
  psql "$PADRON_TEST_POSTGRES_URL" -qc "drop database if exists $db"
fi
