#!/usr/bin/env bash
# Property-based check of the running API against its own OpenAPI document: schemathesis (PyPI)
# generates requests for every operation and fails on any 5xx, any answer that does not match the
# documented schema or content type, or any undocumented status code. Bounded: a fixed number of
# examples per operation and a fixed seed, so the run takes the same time every time.
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${SCHEMATHESIS_EXAMPLES:-25}"
# The `st` entry point lands in this interpreter's scripts folder (a shim-managed PATH may not
# know it until rehashed), so it is called by its full path.
st="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/st"
if [ ! -x "$st" ]; then
  python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=4.30,<5'
fi
cargo build --locked --bin padron
bin=target/debug/padron
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
db="sqlite://$work/padron.db"
"$bin" --database "$db" client create --name schemathesis --json > "$work/creds.json"
"$bin" --database "$db" serve --listen "127.0.0.1:$port" > "$work/serve.log" 2>&1 &
pid=$!
ready=no
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=yes; break; fi
  sleep 0.1
done
[ "$ready" = yes ] || { echo "FATAL: padron serve did not become ready; its log:" >&2; cat "$work/serve.log" >&2; exit 1; }

token() { # env-prefix key secret
  curl -fsS "http://127.0.0.1:$port$1/auth" -H "x-api-key: $2" -H 'Content-Type: application/json' \
    -d "{\"clientId\":\"$(jq -r .clientId "$work/creds.json")\",\"clientSecret\":\"$3\"}" | jq -r .accessToken
}
command -v jq >/dev/null || { apt-get install -y -qq jq >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq jq >/dev/null); }
sk=$(jq -r .sandbox.apiKey "$work/creds.json"); ss=$(jq -r .sandbox.clientSecret "$work/creds.json")
pk=$(jq -r .production.apiKey "$work/creds.json"); ps=$(jq -r .production.clientSecret "$work/creds.json")
st_token=$(token /sandbox "$sk" "$ss"); pt_token=$(token "" "$pk" "$ps")

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
common=(--checks "$checks" --max-examples "$examples" --seed 20261203 --phases examples,coverage,fuzzing
        --header "conomyhq-api-version: 24-04-2025" --no-color)
echo "-- sandbox operations"
"$st" run "http://127.0.0.1:$port/openapi.json" "${common[@]}" --include-path-regex '^/sandbox/' \
  --header "x-api-key: $sk" --header "Authorization: Bearer $st_token"
echo "-- production and service operations"
"$st" run "http://127.0.0.1:$port/openapi.json" "${common[@]}" --exclude-path-regex '^/sandbox/' \
  --header "x-api-key: $pk" --header "Authorization: Bearer $pt_token"
