#!/usr/bin/env python3
"""Helpers for bench/load.sh and bench/crash_test.sh (standard library only).

  helpers.py token   BASE KEY CLIENT SECRET          -> prints a sandbox access token
  helpers.py orgs    BASE KEY TOKEN N                -> creates N organizations, prints their ids
  helpers.py walk    BASE KEY TOKEN MAXPAGES         -> walks the list, prints every `next` cursor
  helpers.py verify  BASE KEY TOKEN IDS_FILE         -> GETs every id; exit 1 if any is not 200
  helpers.py report  MANIFEST BACKEND CEILINGS_JSONL -> markdown tables on stdout

Every loop is bounded (N, MAXPAGES, the ids file) and every request has a 10 s timeout.
"""
import http.client
import json
import sys
import urllib.parse

H2 = {"conomyhq-api-version": "24-04-2025", "Content-Type": "application/json"}


def conn(base):
    u = urllib.parse.urlparse(base)
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)


def call(c, method, path, key, token=None, body=None):
    h = dict(H2, **{"x-api-key": key})
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=None if body is None else json.dumps(body), headers=h)
    r = c.getresponse()
    data = r.read()
    return r.status, data


def rut(n):
    s, m, x = 0, 2, n
    while x > 0:
        s += (x % 10) * m
        x //= 10
        m = 2 if m == 7 else m + 1
    d = 11 - s % 11
    return f"{n}-{'0' if d == 11 else 'K' if d == 10 else d}"


def cmd_token(base, key, client, secret):
    c = conn(base)
    st, data = call(c, "POST", "/sandbox/auth", key, body={"clientId": client, "clientSecret": secret})
    if st != 200:
        sys.exit(f"auth failed: {st} {data[:200]!r}")
    print(json.loads(data)["accessToken"])


def cmd_orgs(base, key, token, n):
    c = conn(base)
    for i in range(int(n)):
        body = {"type": "ORGANIZATION", "name": f"Bench Org {i}", "email": f"org{i}@bench.example.com",
                "documentType": "RUT", "documentNumber": rut(76000000 + i), "country": "CHL",
                "securityOptions": {"twoFactorEnabled": False}, "children": []}
        st, data = call(c, "POST", "/sandbox/identities", key, token, body)
        if st != 201:
            sys.exit(f"org create failed: {st} {data[:300]!r}")
        print(json.loads(data)["id"])


def cmd_walk(base, key, token, maxpages):
    c = conn(base)
    nxt = None
    for _ in range(int(maxpages)):
        path = "/sandbox/identities?limit=20" + ("&next=" + urllib.parse.quote(nxt, safe="") if nxt else "")
        st, data = call(c, "GET", path, key, token)
        if st != 200:
            sys.exit(f"walk failed: {st} {data[:300]!r}")
        nxt = json.loads(data).get("pagination", {}).get("next")
        if not nxt:
            break
        print(nxt)


def cmd_verify(base, key, token, ids_file):
    c = conn(base)
    ids = [l.split()[0] for l in open(ids_file) if l.strip()]
    missing = []
    for i in ids:
        st, _ = call(c, "GET", "/sandbox/identities/" + i, key, token)
        if st != 200:
            missing.append((i, st))
    print(f"acknowledged creates: {len(ids)}; present: {len(ids) - len(missing)}; missing: {len(missing)}")
    for i, st in missing[:20]:
        print(f"  missing {i} (GET answered {st})")
    sys.exit(1 if missing or not ids else 0)


PEER = {  # issue 6, Python peer (FastAPI + SQLAlchemy) on this machine: (low, high) req/s
    "sqlite": {"create": (600, 900), "get": (800, 1700), "list": (800, 950)},
    "postgres": {"create": (700, 760), "get": (300, 950), "list": (400, 400)},
}
PEER_KEY = {"create": "create", "get": "get", "list": "list", "list_email": "list", "list_doc": "list"}
LABEL = {"create": "create", "get": "get-by-id", "list": "list (cursor page)",
         "list_email": "list ?email=", "list_doc": "list ?documentNumber=", "patch": "patch nickname",
         "children": "add-children", "mixed": "mixed 80/20", "seed": "seed"}


def cmd_report(manifest, backend, ceilings):
    rows = []
    for line in open(manifest):
        scen, c, rss_kb, path = line.split()
        r = json.loads(open(path).read().strip().splitlines()[-1])
        rows.append((scen, int(c), int(rss_kb), r))
    out = ["| scenario | conns | req/s | p50 ms | p99 ms | non-2xx | socket errors | peak RSS MiB | vs peer (high–low) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for scen, c, rss, r in rows:
        peer = PEER.get(backend, {}).get(PEER_KEY.get(scen, ""), None)
        vs = f"{r['rps'] / peer[1]:.1f}×–{r['rps'] / peer[0]:.1f}×" if peer else "—"
        sock = r["connect"] + r["read"] + r["write"] + r["timeout"]
        out.append(f"| {LABEL.get(scen, scen)} | {c} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                   f"{r['non2xx']} | {sock} | {rss / 1024:.1f} | {vs} |")
    print("\n".join(out))
    ceil = []
    try:
        ceil = [json.loads(l) for l in open(ceilings) if l.strip()]
    except FileNotFoundError:
        pass
    if ceil:
        print()
        print("| raw ceiling (one transaction per row) | writers/clients | rows/s |")
        print("|---|---:|---:|")
        for cl in ceil:
            print(f"| {cl['what']} | {cl['writers']} | {cl['rows_per_s']:,.0f} |")
        creates = [(c, r["rps"]) for s, c, _, r in rows if s == "create"]
        if creates:
            print()
            print("| Padron create | req/s | ÷ ceiling | ratio |")
            print("|---|---:|---|---:|")
            for c, rps in creates:
                for cl in ceil:
                    print(f"| c={c} | {rps:,.0f} | {cl['what']}, {cl['writers']} writers ({cl['rows_per_s']:,.0f}) | "
                          f"{rps / cl['rows_per_s']:.2f} |")


if __name__ == "__main__":
    cmds = {"token": cmd_token, "orgs": cmd_orgs, "walk": cmd_walk, "verify": cmd_verify, "report": cmd_report}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])
