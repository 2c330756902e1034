#!/usr/bin/env bash
# bench/crash_test.sh — durability check: kill -9 `padron serve` under create load, restart it, and
# check that every create that got a 201 is still there, unchanged, and that the database is
# consistent (no half-written row). Exits non-zero on any loss or inconsistency. `.ci/run` runs it
# on both backends with the debug binary that `cargo test --workspace` built.
#
# usage:  bash bench/crash_test.sh [sqlite|postgres|both] [PADRON_BINARY]
#         (backend default: sqlite, or CRASH_BACKEND; binary: the argument, else CRASH_BINARY, else
#         `cargo build --release` and target/release/padron — BENCH_NO_BUILD=1 skips the build)
#
# Needs: python3 (standard library only), curl, and for PostgreSQL psql and a server on which the
# user may create databases. No wrk, no sqlite3 CLI (the SQLite checks use Python's sqlite3).
#
# Per backend (about 10 s with the debug binary):
#   1. fresh database (SQLite file in a temporary directory / PostgreSQL database
#      padron_crash_<pid> created through $CRASH_PG_URL, dropped at exit), `padron client create`,
#      server on 127.0.0.1:$CRASH_PORT (default: a free port), sandbox token.
#   2. create load for $CRASH_LOAD_SECONDS s: bench/crash_client.py load, $CRASH_THREADS threads on
#      keep-alive connections, unique valid identities (Chilean RUTs with their mod-11 check
#      digit); every 8th create is an ORGANIZATION linking 2 users as children (one transaction:
#      identity row + child links). The id of every 201 is appended to a file, flushed per line, so
#      the client's record of acknowledged creates does not depend on the server.
#      CRASH_LOADER=wrk uses wrk with bench/padron.lua instead (USERs only, $CRASH_CONNECTIONS
#      connections), as the first version of this test did.
#   3. SIGKILL of the server $CRASH_AFTER s into the load (the time is written down first, so the
#      loader can count the creates sent before the kill that never got an answer: "in flight at
#      the kill"; with the Python loader the run fails if there were none — nothing was tested).
#   4. restart on the same database; GET every acknowledged id: 200 with the acknowledged type,
#      email, documentNumber and children (bench/crash_client.py verify); one more create must be
#      201 (the restarted server takes writes); then a clean stop.
#   5. consistency, server stopped. Both: every acknowledged id is a live row with its fields and
#      child links, no half-written row (empty required column, version < 1), every `attributes`
#      parses as a JSON object, no child link to a missing row (either side). SQLite (Python's
#      sqlite3): PRAGMA integrity_check = ok, PRAGMA foreign_key_check empty. PostgreSQL (psql):
#      amcheck bt_index_check(heapallindexed) on every index of identities and identity_children
#      and verify_heapam on both tables, when the amcheck extension is available.
#
# Environment (defaults): CRASH_PORT=<free port> CRASH_THREADS=16 CRASH_CONNECTIONS=32 (wrk)
#   CRASH_LOAD_SECONDS=4 CRASH_AFTER=2 CRASH_LOADER=python
#   CRASH_PG_URL=$PADRON_TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres
#   (any database on the server; the test database is created and dropped through it)
set -euo pipefail

WHICH=${1:-${CRASH_BACKEND:-sqlite}}
BINARY_ARG=${2:-${CRASH_BINARY:-}}
THREADS=${CRASH_THREADS:-16}
CONNS=${CRASH_CONNECTIONS:-32}
LOAD_SECONDS=${CRASH_LOAD_SECONDS:-4}
AFTER=${CRASH_AFTER:-2}
LOADER=${CRASH_LOADER:-python}
PG_ADMIN=${CRASH_PG_URL:-${PADRON_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CLIENT="$HERE/crash_client.py"
WORK=$(mktemp -d /tmp/padron-crash.XXXXXX)
SERVER_PID=""
LOAD_PID=""
PGDB=""

case "$WHICH" in sqlite|postgres|both) ;; *) echo "usage: crash_test.sh [sqlite|postgres|both] [PADRON_BINARY]" >&2; exit 2 ;; esac
case "$LOADER" in python|wrk) ;; *) echo "CRASH_LOADER must be python or wrk" >&2; exit 2 ;; esac
if ! python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) > 0 else 1)" "$LOAD_SECONDS" "$AFTER"; then
  echo "need CRASH_LOAD_SECONDS > CRASH_AFTER > 0 (the kill must land while the load runs)" >&2; exit 2
fi

log() { echo "[crash_test.sh $(date +%H:%M:%S)] $*" >&2; }

cleanup() {
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null || true
  [ -n "$PGDB" ] && psql -X -q "$PG_ADMIN" -c "drop database if exists $PGDB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "$BINARY_ARG" ]; then
  if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release --bin padron >&2)
  fi
  BINARY_ARG=$ROOT/target/release/padron
fi
[ -x "$BINARY_ARG" ] || { echo "no padron binary at $BINARY_ARG" >&2; exit 2; }
# A copy: a concurrent cargo build cannot replace the binary between the kill and the restart.
cp "$BINARY_ARG" "$WORK/padron"
BIN=$WORK/padron
PORT=${CRASH_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
BASE=http://127.0.0.1:$PORT
if [ "$LOADER" = wrk ] && ! command -v wrk >/dev/null; then echo "CRASH_LOADER=wrk but wrk is not installed" >&2; exit 2; fi
log "binary $BINARY_ARG, loader $LOADER, port $PORT"

start_server() {
  "$BIN" serve --listen "127.0.0.1:$PORT" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 1000); do   # at most 10 s
    curl -fs "$BASE/readyz" >/dev/null 2>&1 && return 0
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

jget() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); [v := v[k] for k in sys.argv[2:]]; print(v)' "$@"; }

# Consistency of the PostgreSQL database $1 after the clean stop; prints key=value lines, returns
# non-zero when a check errs (amcheck raises an error on a corrupt index). `set -e` does not apply
# inside functions called from `||`, hence the explicit rc.
pg_check() {
  local url=$1 rc=0
  python3 "$CLIENT" tsv "$WORK/acked.txt" "$WORK/acked_ids.tsv" "$WORK/acked_links.tsv" || return 1
  if psql -X -q "$url" -c 'set client_min_messages = warning' -c 'create extension if not exists amcheck' >/dev/null 2>&1; then
    psql -X -tA -v ON_ERROR_STOP=1 "$url" <<'SQL' || rc=1
select 'amcheck_indexes=' || count(bt_index_check(c.oid, true))
  from pg_index i join pg_class c on c.oid = i.indexrelid join pg_am am on am.oid = c.relam
 where am.amname = 'btree' and i.indrelid in ('identities'::regclass, 'identity_children'::regclass);
select 'heap_corruption=' || case when exists (select 1 from pg_proc where proname = 'verify_heapam')
  then ((select count(*) from verify_heapam('identities')) + (select count(*) from verify_heapam('identity_children')))::text
  else 'n/a' end;
SQL
  else
    echo "amcheck_indexes=n/a"
    echo "heap_corruption=n/a"
  fi
  psql -X -q -tA -v ON_ERROR_STOP=1 "$url" <<SQL || rc=1
create temp table acked (id text, kind text, email text, doc text);
\copy acked from '$WORK/acked_ids.tsv'
create temp table acked_links (parent text, child text);
\copy acked_links from '$WORK/acked_links.tsv'
select 'acknowledged=' || count(*) from acked;
select 'lost=' || count(*) from acked a where not exists (select 1 from identities i
  where i.environment = 'sandbox' and i.id = a.id and i.deleted_at is null);
select 'different=' || count(*) from acked a join identities i on i.environment = 'sandbox' and i.id = a.id
  where i.kind <> a.kind or (a.email <> '-' and i.email is distinct from a.email) or (a.doc <> '-' and i.document_number <> a.doc);
select 'lost_links=' || count(*) from acked_links l where not exists (select 1 from identity_children c
  where c.environment = 'sandbox' and c.parent_id = l.parent and c.child_id = l.child);
select 'invalid_attributes=' || count(*) from identities where jsonb_typeof(attributes::jsonb) <> 'object';
select 'half_written_rows=' || count(*) from identities where id = '' or kind not in ('USER', 'ORGANIZATION')
  or name = '' or country = '' or document_type = '' or document_number = '' or document_key = ''
  or status = '' or created_at <= 0 or updated_at < created_at or version < 1;
select 'orphan_links=' || count(*) from identity_children c
  where not exists (select 1 from identities i where i.client_id = c.client_id and i.environment = c.environment
                      and i.id = c.child_id and i.deleted_at is null)
     or not exists (select 1 from identities i where i.client_id = c.client_id and i.environment = c.environment
                      and i.id = c.parent_id and i.deleted_at is null);
select 'rows=' || count(*) from identities;
select 'links=' || count(*) from identity_children;
SQL
  return "$rc"
}

# $1: pg_check's output on one line, $2: the number of acknowledged creates.
pg_ok() {
  local k
  for k in lost different lost_links invalid_attributes half_written_rows orphan_links; do
    case " $1 " in *" $k=0 "*) ;; *) return 1 ;; esac
  done
  case " $1 " in *" heap_corruption=0 "*|*" heap_corruption=n/a "*) ;; *) return 1 ;; esac
  case " $1 " in *" acknowledged=$2 "*) ;; *) return 1 ;; esac   # every acknowledged id was compared
}

run_one() {
  local backend=$1 fail=0 url=""
  rm -f "$WORK"/acked* "$WORK"/bench.db* "$WORK/kill_time" "$WORK/server.log"
  if [ "$backend" = sqlite ]; then
    export PADRON_DATABASE_URL="sqlite://$WORK/bench.db"
  else
    PGDB=padron_crash_$$
    psql -X -q "$PG_ADMIN" -c 'set client_min_messages = warning' -c "drop database if exists $PGDB" -c "create database $PGDB" >/dev/null
    url=${PG_ADMIN%/*}/$PGDB
    export PADRON_DATABASE_URL=$url
  fi
  # (`set -e` does not apply in here: run_one is called from `||`; every step checks itself.)
  "$BIN" migrate >/dev/null 2>&1 || { log "$backend: migrate failed"; return 1; }
  "$BIN" client create --name crash --json >"$WORK/creds.json" || { log "$backend: client create failed"; return 1; }
  local client key secret token
  client=$(jget "$WORK/creds.json" clientId)
  key=$(jget "$WORK/creds.json" sandbox apiKey)
  secret=$(jget "$WORK/creds.json" sandbox clientSecret)
  start_server || return 1
  token=$(python3 "$HERE/helpers.py" token "$BASE" "$key" "$client" "$secret") || return 1

  if [ "$LOADER" = python ]; then
    log "$backend: create load, $THREADS threads, ${LOAD_SECONDS}s; kill -9 after ${AFTER}s"
    python3 "$CLIENT" load "$BASE" "$key" "$token" "$WORK/acked.txt" "$THREADS" "$LOAD_SECONDS" "c$$" \
      "$WORK/kill_time" >"$WORK/load.json" &
  else
    log "$backend: wrk create load, $CONNS connections, ${LOAD_SECONDS}s; kill -9 after ${AFTER}s"
    API_KEY=$key TOKEN=$token SCENARIO=create RUN_TAG=c$$ RUT_BLOCK=3 OUT_PREFIX="$WORK/acked" \
      wrk -t2 -c"$CONNS" -d"${LOAD_SECONDS}s" --timeout 5s -s "$HERE/padron.lua" "$BASE" >"$WORK/wrk.txt" 2>&1 &
  fi
  LOAD_PID=$!
  sleep "$AFTER"
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "$backend: the server died before the kill"; tail -20 "$WORK/server.log" >&2; return 1
  fi
  date +%s.%N >"$WORK/kill_time"
  kill -9 "$SERVER_PID"
  local st=0
  wait "$SERVER_PID" 2>/dev/null || st=$?
  SERVER_PID=""
  local before
  before=$(cat "$WORK"/acked* 2>/dev/null | wc -l)
  log "$backend: killed the server (exit status $st: SIGKILL is 137) with $before creates acknowledged so far"
  [ "$st" = 137 ] || { log "$backend: the server did not die of SIGKILL"; fail=1; }
  wait "$LOAD_PID" || { log "$backend: the load generator failed"; fail=1; }
  LOAD_PID=""
  local in_flight="n/a (wrk)"
  if [ "$LOADER" = python ]; then
    log "$backend: loader: $(cat "$WORK/load.json")"
    in_flight=$(jget "$WORK/load.json" in_flight_at_kill)
    if ! [ "$in_flight" -gt 0 ] 2>/dev/null; then
      log "$backend: no create was in flight at the kill: the test proved nothing"; fail=1
    fi
  else
    cat "$WORK"/acked.* >"$WORK/acked.txt"
  fi
  local acked
  acked=$(wc -l <"$WORK/acked.txt")
  log "$backend: $acked creates acknowledged with 201 in total"
  [ "$before" -gt 0 ] || { log "$backend: no create was acknowledged before the kill"; fail=1; }

  start_server || { log "$backend: the server did not restart"; return 1; }
  log "$backend: restarted; checking every acknowledged id"
  local verify
  verify=$(python3 "$CLIENT" verify "$BASE" "$key" "$token" "$WORK/acked.txt") || fail=1
  log "$backend: after restart: $verify"
  local after
  after=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/sandbox/identities" -H "x-api-key: $key" \
    -H "Authorization: Bearer $token" -H 'conomyhq-api-version: 24-04-2025' -H 'Content-Type: application/json' \
    -d '{"type":"USER","name":"After Crash","email":"after.crash@example.com","documentType":"RUT","documentNumber":"17604011-4","country":"CHL"}')
  [ "$after" = 201 ] || { log "$backend: create after restart answered $after"; fail=1; }
  stop_server

  local consistency
  if [ "$backend" = sqlite ]; then
    consistency=$(python3 "$CLIENT" sqlite-check "$WORK/bench.db" "$WORK/acked.txt") || fail=1
  else
    consistency=$(pg_check "$url" | tr '\n' ' ') || fail=1
    pg_ok "$consistency" "$acked" || fail=1
    psql -X -q "$PG_ADMIN" -c "drop database if exists $PGDB" >/dev/null; PGDB=""
  fi
  log "$backend: consistency: $consistency"

  local found lost rows extra="?"
  found=$(jget <(echo "$verify") found 2>/dev/null || echo "?")
  lost=$(jget <(echo "$verify") lost 2>/dev/null || echo "?")
  if [ "$backend" = sqlite ]; then
    rows=$(jget <(echo "$consistency") rows 2>/dev/null || echo "?")
  else
    rows=$(echo " $consistency " | sed -n 's/.* rows=\([0-9]*\) .*/\1/p')
  fi
  # Rows beyond the acknowledged creates and the create after the restart: creates in flight at the
  # kill that committed but whose 201 never left the process (allowed: the client saw no answer).
  [ -n "$rows" ] && [ "$rows" != "?" ] && extra=$((rows - acked - 1))
  echo "crash test $backend: acknowledged $acked, in flight at the kill $in_flight, found after restart $found," \
    "lost $lost, rows $rows ($extra committed without an answer), create after restart $after," \
    "consistency $([ "$fail" = 0 ] && echo ok || echo 'see above'): $([ "$fail" = 0 ] && echo PASS || echo FAIL)"
  return "$fail"
}

status=0
case "$WHICH" in
  sqlite|postgres) run_one "$WHICH" || status=1 ;;
  both) run_one sqlite || status=1; run_one postgres || status=1 ;;
esac
exit "$status"
