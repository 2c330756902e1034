#!/usr/bin/env bash
# bench/scale.sh — does a request cost the same with 10,000 and with 1,000,000 identities in one
# client? (issue 6: deep keyset pages within 1.5x of the first page; get-by-id and filtered
# lookups within 1.5x of their cost at 10,000.)
#
# usage: bash bench/scale.sh [sqlite|postgres]   (release binary built if missing; ~3 minutes)
#        PostgreSQL: a fresh database padron_scale_<pid> on $SCALE_PG (dropped at exit).
# Env: SCALE_SMALL=10000 SCALE_LARGE=1000000 SCALE_SECONDS=5 SCALE_CONNECTIONS=32 SCALE_PORT=18090
#
# Rows are inserted with SQL straight into the database of a stopped server (the API would take
# minutes for a million creates, and create speed is bench/load.sh's job): same table, same
# indexes, canonical values, ids time-ordered like the server's. Then the server is started and
# wrk measures each request shape at both sizes. Needs: cargo, wrk, sqlite3, curl, jq.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SMALL=${SCALE_SMALL:-10000}
LARGE=${SCALE_LARGE:-1000000}
SECONDS_EACH=${SCALE_SECONDS:-5}
CONNS=${SCALE_CONNECTIONS:-32}
PORT=${SCALE_PORT:-18090}
BACKEND=${1:-sqlite}
PG=${SCALE_PG:-postgres://postgres@127.0.0.1:5432}
WORK=$(mktemp -d /tmp/padron-scale.XXXXXX)
BIN="$ROOT/target/release/padron"
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release --bin padron >&2)
cp "$BIN" "$WORK/padron"
DB="$WORK/p.db"
PGDB=padron_scale_$$
case "$BACKEND" in
  sqlite) URL="sqlite://$DB" ;;
  postgres)
    URL="$PG/$PGDB"
    psql "$PG/postgres" -qc "set client_min_messages = warning" -c "drop database if exists $PGDB" -c "create database $PGDB" ;;
  *) echo "backend must be sqlite or postgres" >&2; exit 2 ;;
esac
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  [ "$BACKEND" = postgres ] && psql "$PG/postgres" -qc "drop database if exists $PGDB" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$WORK/padron" --database "$URL" client create --name scale --json > "$WORK/c.json"
CLIENT=$(jq -r .clientId "$WORK/c.json")
# Ids: 24 hex digits, time-ordered: a fixed 4-digit prefix and the row number in 20 hex digits.
PREFIX=6b10

seed() { # first last: insert identities number first..last-1
  if [ "$BACKEND" = postgres ]; then
    psql -q "$URL" <<SQL
insert into identities (client_id, environment, id, kind, name, email, email_key, phone, phone_key,
  country, document_type, document_number, document_key, status, external_id, attributes,
  created_at, updated_at, version)
select '$CLIENT', 'sandbox', '${PREFIX}' || lpad(to_hex(i), 20, '0'), 'USER', 'U' || i,
  'u' || i || '@example.com', 'u' || i || '@example.com', null, '', 'CHL', 'RUT', '17604011-4',
  '176040114', 'ACTIVE', null, '{}', 1764000000000000 + i, 1764000000000000 + i, 1
from generate_series($1, $2 - 1) as i;
analyze identities;
SQL
    return
  fi
  sqlite3 "$DB" <<SQL
pragma synchronous = normal;
with recursive n(i) as (select $1 union all select i + 1 from n where i + 1 < $2)
insert into identities (client_id, environment, id, kind, name, email, email_key, phone, phone_key,
  country, document_type, document_number, document_key, status, external_id, attributes,
  created_at, updated_at, version)
select '$CLIENT', 'sandbox', printf('${PREFIX}%020x', i), 'USER', 'U' || i,
  'u' || i || '@example.com', 'u' || i || '@example.com', null, '', 'CHL', 'RUT', '17604011-4',
  '176040114', 'ACTIVE', null, '{}', 1764000000000000 + i, 1764000000000000 + i, 1
from n;
analyze;
SQL
}

start() {
  "$WORK/padron" --database "$URL" serve --listen "127.0.0.1:$PORT" > "$WORK/serve.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "server did not start" >&2; cat "$WORK/serve.log" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

cursor_near_end() { # count: the cursor that pages after identity count-21
  local id
  id=$(printf '%s%020x' "$PREFIX" $(($1 - 21)))
  printf 'c1:%s' "$id" | base64 | tr '+/' '-_' | tr -d '=\n'
}

measure() { # label count
  local key secret token
  key=$(jq -r .sandbox.apiKey "$WORK/c.json"); secret=$(jq -r .sandbox.clientSecret "$WORK/c.json")
  token=$(curl -fsS "http://127.0.0.1:$PORT/sandbox/auth" -H "x-api-key: $key" -H 'Content-Type: application/json' \
    -d "{\"clientId\":\"$CLIENT\",\"clientSecret\":\"$secret\"}" | jq -r .accessToken)
  for mode in page_first page_deep get email; do
    local cursor="" wmode=$mode
    case $mode in page_first) wmode=page ;; page_deep) wmode=page; cursor=$(cursor_near_end "$2") ;; esac
    local line
    line=$(SCALE_MODE=$wmode SCALE_PREFIX=$PREFIX SCALE_COUNT=$2 SCALE_CURSOR=$cursor SCALE_KEY=$key SCALE_TOKEN=$token \
      wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" -s "$HERE/scale.lua" "http://127.0.0.1:$PORT" | grep '^RESULT')
    echo "| $1 | $mode | ${line#RESULT } |"
  done
}

echo "| identities | request | result |"
echo "|---:|---|---|"
seed 0 "$SMALL"
start; measure "$SMALL" "$SMALL"; stop
seed "$SMALL" "$LARGE"
start; measure "$LARGE" "$LARGE"; stop
