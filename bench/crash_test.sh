#!/usr/bin/env bash
# bench/crash_test.sh — durability check: kill -9 a release `padron serve` under create load,
# restart it, and check that every create that got a 201 is still there and the database is
# consistent. Exits non-zero on any loss or inconsistency.
#
# usage:  bash bench/crash_test.sh [sqlite|postgres|both]      (default: sqlite; CRASH_BACKEND too)
#
# Per backend (about 20-30 s each):
#   1. fresh database (SQLite file in a temporary directory / PostgreSQL database
#      padron_crash_<pid> created with psql on $CRASH_PG, dropped at exit), `padron client create`,
#      server on 127.0.0.1:$CRASH_PORT, sandbox token.
#   2. wrk create load (bench/padron.lua, $CRASH_CONNECTIONS connections, $CRASH_LOAD_SECONDS s); the
#      Lua response() hook appends the id of every 201 to a file, flushed per line, so the client's
#      record of acknowledged creates survives the server's death.
#   3. kill -9 of the server $CRASH_AFTER seconds into the load; wrk runs to its end (connection
#      errors while the server is down).
#   4. restart on the same database; GET every acknowledged id (must be 200), one more create must
#      be 201 (the restarted server takes writes).
#   5. consistency: SQLite — server stopped, `PRAGMA integrity_check` = ok, `PRAGMA
#      foreign_key_check` empty, every `attributes` is valid JSON, every child link names a live row;
#      PostgreSQL — amcheck `bt_index_check` on every index of `identities` and `identity_children`
#      (when the amcheck extension is available), every `attributes` parses as jsonb, every child
#      link names a row.
#
# Environment (defaults): CRASH_PORT=18090 CRASH_CONNECTIONS=32 CRASH_LOAD_SECONDS=6 CRASH_AFTER=3
#   CRASH_PG=postgres://postgres@127.0.0.1:5432  BENCH_NO_BUILD=1 skips `cargo build --release`.
# Needs: cargo, wrk, python3, curl, sqlite3 (SQLite checks), psql (PostgreSQL).
set -euo pipefail

WHICH=${1:-${CRASH_BACKEND:-sqlite}}
PORT=${CRASH_PORT:-18090}
CONNS=${CRASH_CONNECTIONS:-32}
LOAD_SECONDS=${CRASH_LOAD_SECONDS:-6}
AFTER=${CRASH_AFTER:-3}
PG=${CRASH_PG:-postgres://postgres@127.0.0.1:5432}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d /tmp/padron-crash.XXXXXX)
SERVER_PID=""
WRK_PID=""
PGDB=""

log() { echo "[crash_test.sh $(date +%H:%M:%S)] $*" >&2; }

cleanup() {
  [ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null || true
  [ -n "$PGDB" ] && psql -q "$PG/postgres" -c "drop database if exists $PGDB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release --bin padron >&2)
fi
cp "$ROOT/target/release/padron" "$WORK/padron"
BIN=$WORK/padron

start_server() {
  "$BIN" serve --listen "127.0.0.1:$PORT" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 1000); do   # at most 10 s
    curl -fs "$BASE/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$WORK/server.log" >&2; return 1; }
    sleep 0.01
  done
  echo "server did not become ready" >&2; return 1
}

stop_server() {
  kill "$SERVER_PID"
  for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

run_one() {
  local backend=$1 fail=0
  rm -f "$WORK"/acked.* "$WORK"/bench.db*
  if [ "$backend" = sqlite ]; then
    export PADRON_DATABASE_URL="sqlite://$WORK/bench.db"
  else
    PGDB=padron_crash_$$
    psql -q "$PG/postgres" -c "drop database if exists $PGDB" -c "create database $PGDB" >/dev/null
    export PADRON_DATABASE_URL="$PG/$PGDB"
  fi
  "$BIN" migrate >/dev/null 2>&1
  "$BIN" client create --name crash --json >"$WORK/creds.json"
  local client key secret token
  client=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["clientId"])' "$WORK/creds.json")
  key=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["sandbox"]["apiKey"])' "$WORK/creds.json")
  secret=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["sandbox"]["clientSecret"])' "$WORK/creds.json")
  start_server
  token=$(python3 "$HERE/helpers.py" token "$BASE" "$key" "$client" "$secret")

  log "$backend: create load, $CONNS connections, ${LOAD_SECONDS}s; kill -9 after ${AFTER}s"
  API_KEY=$key TOKEN=$token SCENARIO=create RUN_TAG=c$$ RUT_BLOCK=3 OUT_PREFIX="$WORK/acked" \
    wrk -t2 -c"$CONNS" -d"${LOAD_SECONDS}s" --timeout 5s -s "$HERE/padron.lua" "$BASE" >"$WORK/wrk.txt" 2>&1 &
  WRK_PID=$!
  sleep "$AFTER"
  local before
  before=$(cat "$WORK"/acked.* 2>/dev/null | wc -l)
  kill -9 "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  log "$backend: killed the server with $before creates acknowledged so far"
  wait "$WRK_PID" || true
  WRK_PID=""
  cat "$WORK"/acked.* >"$WORK/acked.txt"
  log "$backend: $(wc -l <"$WORK/acked.txt") creates acknowledged with 201 in total"

  start_server
  log "$backend: restarted; checking every acknowledged id"
  python3 "$HERE/helpers.py" verify "$BASE" "$key" "$token" "$WORK/acked.txt" || fail=1
  local st
  st=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/sandbox/identities" -H "x-api-key: $key" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"type":"USER","name":"After Crash","email":"after.crash@example.com","documentType":"RUT","documentNumber":"17604011-4","country":"CHL"}')
  [ "$st" = 201 ] || { log "$backend: create after restart answered $st"; fail=1; }
  stop_server

  if [ "$backend" = sqlite ]; then
    local db=$WORK/bench.db ic fk bad orphans
    ic=$(sqlite3 "$db" 'PRAGMA integrity_check')
    fk=$(sqlite3 "$db" 'PRAGMA foreign_key_check' | wc -l)
    bad=$(sqlite3 "$db" 'select count(*) from identities where json_valid(attributes) = 0')
    orphans=$(sqlite3 "$db" 'select count(*) from identity_children c where not exists (select 1 from identities i where i.client_id = c.client_id and i.environment = c.environment and i.id = c.child_id) or not exists (select 1 from identities i where i.client_id = c.client_id and i.environment = c.environment and i.id = c.parent_id)')
    log "sqlite: integrity_check=$ic foreign_key_check rows=$fk invalid attributes=$bad orphan links=$orphans rows=$(sqlite3 "$db" 'select count(*) from identities')"
    [ "$ic" = ok ] && [ "$fk" = 0 ] && [ "$bad" = 0 ] && [ "$orphans" = 0 ] || fail=1
  else
    local url=$PG/$PGDB out
    if psql -q "$url" -c 'create extension if not exists amcheck' >/dev/null 2>&1; then
      out=$(psql -tA -v ON_ERROR_STOP=1 "$url" -c "select count(bt_index_check(c.oid)) from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid in ('identities'::regclass, 'identity_children'::regclass)") || fail=1
      log "postgres: amcheck bt_index_check passed on $out indexes"
    else
      log "postgres: amcheck extension not available; skipped index check"
    fi
    out=$(psql -tA -v ON_ERROR_STOP=1 "$url" -c "select count(*) from identities where attributes::jsonb is null") || fail=1
    local orphans
    orphans=$(psql -tA "$url" -c 'select count(*) from identity_children c where not exists (select 1 from identities i where i.client_id = c.client_id and i.environment = c.environment and i.id = c.child_id)')
    log "postgres: null attributes=$out orphan links=$orphans rows=$(psql -tA "$url" -c 'select count(*) from identities')"
    [ "$out" = 0 ] && [ "$orphans" = 0 ] || fail=1
    psql -q "$PG/postgres" -c "drop database if exists $PGDB" >/dev/null; PGDB=""
  fi
  if [ "$fail" = 0 ]; then log "$backend: PASS"; else log "$backend: FAIL"; fi
  return "$fail"
}

status=0
case "$WHICH" in
  sqlite|postgres) run_one "$WHICH" || status=1 ;;
  both) run_one sqlite || status=1; run_one postgres || status=1 ;;
  *) echo "usage: crash_test.sh [sqlite|postgres|both]" >&2; exit 2 ;;
esac
exit "$status"
