#!/usr/bin/env bash
# bench/load.sh — load benchmark of a release `padron serve` plus the raw database ceiling,
# in the same run. Results: a markdown table on stdout (also written to $BENCH_OUT).
#
# usage:  bash bench/load.sh [sqlite|postgres]
#
# What it does:
#   1. cargo build --release --bin padron (skip with BENCH_NO_BUILD=1) and copies the binary to a
#      temporary directory, so rebuilds by others during the run do not change what is measured.
#      BENCH_BIN=/path/to/padron measures that binary instead (no build), e.g. an A/B of an older
#      copy against the new one in the same session.
#   2. Starts `padron serve` on 127.0.0.1:$BENCH_PORT on a fresh database: a new SQLite file in the
#      temporary directory, or a new PostgreSQL database `padron_bench_<pid>` created with psql on
#      $BENCH_PG (dropped at exit).
#   3. `padron client create --json`, POST /sandbox/auth for a bearer token.
#   4. Seeds: $BENCH_ORGS organizations, then USER creates with wrk for $BENCH_SEED_SECONDS
#      (ids, emails and document numbers of the 201s are recorded), then walks the list
#      (limit=20, at most $BENCH_WALK_PAGES pages) to collect `pagination.next` cursors.
#   5. For each connection count in $BENCH_CONNECTIONS and each scenario in $BENCH_SCENARIOS runs wrk
#      (2 threads, $BENCH_DURATION seconds, bench/padron.lua). Peak RSS per scenario: the kernel's
#      peak is reset (`echo 5 > /proc/PID/clear_refs`) before, VmHWM read after.
#   6. Startup time: stops the server (SIGTERM) and times a restart on the now-populated database
#      until /healthz answers (polled every 5 ms).
#   7. Raw ceilings with the server stopped: bench/ceiling (Rust, rusqlite; Padron's own SQLite
#      migrations; WAL; synchronous FULL then NORMAL; one transaction per row) for each writer
#      count in $BENCH_CEILING_WRITERS, and on PostgreSQL pgbench with bench/pg_insert.sql at
#      $BENCH_PG_CLIENTS clients on a fresh database with Padron's PostgreSQL migrations.
#      BENCH_CEILING=0 skips this step.
#
# Environment (defaults): BENCH_DURATION=10  BENCH_CONNECTIONS="32 64"
#   BENCH_SCENARIOS="create get list list_email list_doc patch children mixed"
#   BENCH_PORT=18080  BENCH_SEED_SECONDS=8  BENCH_ORGS=100  BENCH_WALK_PAGES=1000
#   BENCH_PG=postgres://postgres@127.0.0.1:5432  (admin URL without database name)
#   BENCH_CEILING=1  BENCH_CEILING_WRITERS="1 4 32"  BENCH_PG_CLIENTS=32
#   BENCH_OUT=/tmp/padron-bench-<backend>.md  BENCH_KEEP=0 (1 keeps the temporary directory and,
#   on PostgreSQL, the database padron_bench_<pid>)
#   BENCH_PERF=DIR  profiles the server with `perf record -g` during each scenario, one file per
#   scenario in DIR (perf.<backend>.<scenario>.<connections>.data); read with `perf report -i`
#   PADRON_LOG (server log filter; default the product's default, logs go to a file)
#   BENCH_BACKEND (same as the first argument)
# Needs: cargo, wrk (apt-get install -y wrk), python3, curl; psql + pgbench for postgres.
# All traffic stays on 127.0.0.1; every loop is bounded in count and time.
set -euo pipefail

BACKEND=${1:-${BENCH_BACKEND:-sqlite}}
DURATION=${BENCH_DURATION:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-"32 64"}
SCENARIOS=${BENCH_SCENARIOS:-"create get list list_email list_doc patch children mixed"}
PORT=${BENCH_PORT:-18080}
SEED_SECONDS=${BENCH_SEED_SECONDS:-8}
ORGS=${BENCH_ORGS:-100}
WALK_PAGES=${BENCH_WALK_PAGES:-1000}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
CEILING=${BENCH_CEILING:-1}
CEILING_WRITERS=${BENCH_CEILING_WRITERS:-"1 4 32"}
PG_CLIENTS=${BENCH_PG_CLIENTS:-32}
OUT=${BENCH_OUT:-/tmp/padron-bench-$BACKEND.md}

case "$BACKEND" in sqlite|postgres) ;; *) echo "backend must be sqlite or postgres" >&2; exit 2 ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d /tmp/padron-bench.XXXXXX)
SERVER_PID=""
PGDB=""
PGCEIL=""

log() { echo "[load.sh $(date +%H:%M:%S)] $*" >&2; }

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  [ "${BENCH_KEEP:-0}" = 1 ] && [ -n "${PGDB:-}" ] && log "kept database $PGDB" && PGDB=""
  for db in $PGDB $PGCEIL; do psql -q "$PG/postgres" -c "drop database if exists $db" >/dev/null 2>&1 || true; done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

if [ -n "${BENCH_BIN:-}" ]; then
  cp "$BENCH_BIN" "$WORK/padron"
  REV="$BENCH_BIN"
else
  if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    log "building release binary"
    (cd "$ROOT" && cargo build --release --bin padron >&2)
  fi
  cp "$ROOT/target/release/padron" "$WORK/padron"
  REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")$(git -C "$ROOT" diff --quiet -- crates 2>/dev/null || echo "+dirty")"
fi
BIN=$WORK/padron

if [ "$BACKEND" = sqlite ]; then
  export PADRON_DATABASE_URL="sqlite://$WORK/bench.db"
else
  PGDB=padron_bench_$$
  psql -q "$PG/postgres" -c "create database $PGDB" >/dev/null
  export PADRON_DATABASE_URL="$PG/$PGDB"
fi

start_server() {
  "$BIN" serve --listen "127.0.0.1:$PORT" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  local t0 t1
  t0=$(date +%s%N)
  for _ in $(seq 1 2000); do   # at most 10 s
    if curl -fs "$BASE/healthz" >/dev/null 2>&1; then
      t1=$(date +%s%N); READY_MS=$(( (t1 - t0) / 1000000 )); return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.005
  done
  echo "server did not become ready" >&2; exit 1
}

stop_server() {
  kill "$SERVER_PID"
  for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

"$BIN" migrate >/dev/null 2>&1 || "$BIN" migrate
"$BIN" client create --name bench --json >"$WORK/creds.json"
CLIENT=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["clientId"])' "$WORK/creds.json")
KEY=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["sandbox"]["apiKey"])' "$WORK/creds.json")
SECRET=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["sandbox"]["clientSecret"])' "$WORK/creds.json")
start_server; FIRST_START_MS=$READY_MS
log "server pid $SERVER_PID ready in ${FIRST_START_MS} ms ($BACKEND)"
TOKEN=$(python3 "$HERE/helpers.py" token "$BASE" "$KEY" "$CLIENT" "$SECRET")

export API_KEY=$KEY TOKEN RUN_TAG=$$ IDS_FILE="$WORK/ids.txt" CURSORS_FILE="$WORK/cursors.txt" ORGS_FILE="$WORK/orgs.txt"

log "seeding $ORGS organizations"
python3 "$HERE/helpers.py" orgs "$BASE" "$KEY" "$TOKEN" "$ORGS" >"$ORGS_FILE"
log "seeding users for ${SEED_SECONDS}s"
SCENARIO=seed RUT_BLOCK=7 OUT_PREFIX="$WORK/seed" RESULT_FILE="$WORK/seed.json" \
  wrk -t2 -c16 -d"${SEED_SECONDS}s" --timeout 10s -s "$HERE/padron.lua" "$BASE" >/dev/null
cat "$WORK"/seed.* 2>/dev/null | grep -v '^{' >"$IDS_FILE" || true
log "seeded $(wc -l <"$IDS_FILE") users"
[ -s "$IDS_FILE" ] || { echo "seeding produced no identities" >&2; tail -20 "$WORK/server.log" >&2; exit 1; }
if [ "$BACKEND" = postgres ]; then
  # Table statistics as autovacuum has them within a minute of such growth: tables filled in
  # seconds and never analysed leave the planner guessing one row everywhere, and it may then
  # read a tenant's whole index for one id (get-by-id measured 150-260 requests/s that way).
  psql -q "$PADRON_DATABASE_URL" -c "analyze" >/dev/null
fi
python3 "$HERE/helpers.py" walk "$BASE" "$KEY" "$TOKEN" "$WALK_PAGES" >"$CURSORS_FILE"
log "collected $(wc -l <"$CURSORS_FILE") cursors"

: >"$WORK/manifest.tsv"
block=0
for c in $CONNECTIONS; do
  for s in $SCENARIOS; do
    block=$((block + 1))
    echo 5 >"/proc/$SERVER_PID/clear_refs" 2>/dev/null || true
    r="$WORK/result.$s.$c.json"
    log "scenario $s, $c connections, ${DURATION}s"
    if [ -n "${BENCH_PERF:-}" ]; then
      # Profile the server during the scenario (its first DURATION-1 seconds).
      mkdir -p "$BENCH_PERF"
      perf record -q -F 999 -g -p "$SERVER_PID" -o "$BENCH_PERF/perf.$BACKEND.$s.$c.data" \
        -- sleep $((DURATION > 1 ? DURATION - 1 : 1)) >/dev/null 2>&1 &
      PERF_PID=$!
    fi
    SCENARIO=$s RUT_BLOCK=$block RESULT_FILE="$r" \
      wrk -t2 -c"$c" -d"${DURATION}s" --timeout 5s -s "$HERE/padron.lua" "$BASE" >"$WORK/wrk.$s.$c.txt"
    if [ -n "${PERF_PID:-}" ]; then wait "$PERF_PID" 2>/dev/null || true; PERF_PID=""; fi
    rss=$(awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
    echo "$s $c $rss $r" >>"$WORK/manifest.tsv"
    tail -1 "$r" >&2
  done
done
ROWS_AFTER=$(cat "$WORK"/seed.* 2>/dev/null | wc -l)

stop_server
start_server; RESTART_MS=$READY_MS
log "restart on the populated database: ready in ${RESTART_MS} ms"
stop_server

: >"$WORK/ceilings.jsonl"
if [ "$CEILING" = 1 ]; then
  if [ "$BACKEND" = sqlite ]; then
    log "building bench/ceiling"
    (cd "$HERE/ceiling" && cargo build --release --quiet >&2)
    for sync in FULL NORMAL; do
      for w in $CEILING_WRITERS; do
        j=$("$HERE/ceiling/target/release/padron-ceiling" --db "$WORK/ceiling.db" \
          --migrations "$ROOT/crates/padron-store/migrations/sqlite" --sync "$sync" --writers "$w" --seconds "$DURATION")
        log "ceiling $j"
        python3 -c 'import json,sys;j=json.loads(sys.argv[1]);j["what"]="SQLite WAL synchronous="+j["sync"];print(json.dumps(j))' "$j" >>"$WORK/ceilings.jsonl"
      done
    done
  else
    PGCEIL=padron_ceiling_$$
    psql -q "$PG/postgres" -c "create database $PGCEIL" >/dev/null
    for f in "$ROOT"/crates/padron-store/migrations/postgres/*.sql; do psql -q -v ON_ERROR_STOP=1 "$PG/$PGCEIL" -f "$f" >/dev/null; done
    sc=$(psql -tA "$PG/postgres" -c "show synchronous_commit")
    pgbench -n -c "$PG_CLIENTS" -j 2 -T "$DURATION" -f "$HERE/pg_insert.sql" "$PG/$PGCEIL" >"$WORK/pgbench.txt" 2>&1
    tps=$(awk '/^tps/ {print $3; exit}' "$WORK/pgbench.txt")
    log "pgbench $PG_CLIENTS clients: $tps rows/s (synchronous_commit=$sc)"
    echo "{\"what\":\"PostgreSQL pgbench insert (synchronous_commit=$sc)\",\"writers\":$PG_CLIENTS,\"rows_per_s\":$tps}" >>"$WORK/ceilings.jsonl"
  fi
fi

{
  echo "### $BACKEND — $(date -u +%Y-%m-%dT%H:%MZ), ${DURATION}s per scenario, binary of $REV (copied at the start)"
  echo
  echo "Seeded: $ORGS organizations, $(wc -l <"$IDS_FILE") users, $(wc -l <"$CURSORS_FILE") cursors. Startup to ready: ${FIRST_START_MS} ms on a fresh database, ${RESTART_MS} ms on the populated one (includes the 5 ms polling step)."
  echo
  python3 "$HERE/helpers.py" report "$WORK/manifest.tsv" "$BACKEND" "$WORK/ceilings.jsonl"
} >"$OUT"
cat "$OUT"
log "written $OUT"
