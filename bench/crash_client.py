#!/usr/bin/env python3
"""Client side of bench/crash_test.sh (Python standard library only).

  crash_client.py load   BASE KEY TOKEN ACKED_FILE THREADS SECONDS TAG KILL_TIME_FILE
      Create load: THREADS threads, each on its own keep-alive connection, POST valid, unique
      identities for SECONDS seconds. Every 8th create of a thread is an ORGANIZATION that links the
      users this thread created since its last organization as children (so one create writes an
      identity row and child links in one transaction); the rest are USERs. Every create answered
      201 is appended to ACKED_FILE at once, flushed per line, as
          id kind email documentNumber child,child|-
      A request whose connection fails is not retried (its outcome is unknown) and is never
      recorded; the thread reconnects and goes on with a new identity. KILL_TIME_FILE, written by
      the caller just before it sends SIGKILL, holds the Unix time of the kill: at the end the
      loader counts the creates sent before it that never got an answer ("in flight at the kill")
      and prints one JSON summary line on stdout.
  crash_client.py verify BASE KEY TOKEN ACKED_FILE
      GETs every acknowledged id (4 keep-alive connections); each must answer 200 with the type,
      email and documentNumber that were acknowledged and, for organizations, exactly the children
      that were linked. Prints one JSON summary line; exit 1 on any missing or different identity.
  crash_client.py sqlite-check DB ACKED_FILE
      Consistency of a (stopped) server's SQLite file: PRAGMA integrity_check, PRAGMA
      foreign_key_check, every identities.attributes parses as a JSON object, no half-written row
      (empty required column, version < 1), no child link to a missing or deleted row (either
      side), and every acknowledged create is a live row with its fields and child links. Prints
      one JSON summary line; exit 1 on any failure.
  crash_client.py tsv ACKED_FILE IDS_TSV LINKS_TSV
      Writes the acknowledged creates as tab-separated files for psql \\copy:
      IDS_TSV "id kind email documentNumber", LINKS_TSV "parent child".

ACKED_FILE lines of three fields ("id email documentNumber", written by bench/padron.lua under
wrk) are read as USERs without children.
"""
import http.client
import json
import os
import sqlite3
import sys
import threading
import time
import urllib.parse

HEADERS = {"conomyhq-api-version": "24-04-2025", "Content-Type": "application/json"}
ORG_EVERY = 8


def rut(n):
    """Chilean RUT with its mod-11 check digit, canonical form (as bench/padron.lua builds it)."""
    s, m, x = 0, 2, n
    while x > 0:
        s += (x % 10) * m
        x //= 10
        m = 2 if m == 7 else m + 1
    d = 11 - s % 11
    return f"{n}-{'0' if d == 11 else 'K' if d == 10 else d}"


def host_port(base):
    u = urllib.parse.urlparse(base)
    return u.hostname, u.port or 80


def read_acked(path):
    out = []
    for line in open(path):
        f = line.split()
        if not f:
            continue
        if len(f) == 3:  # wrk / padron.lua format
            out.append({"id": f[0], "kind": "USER", "email": f[1], "doc": f[2], "children": []})
        else:
            kids = [] if f[4] == "-" else f[4].split(",")
            out.append({"id": f[0], "kind": f[1], "email": f[2], "doc": f[3], "children": kids})
    return out


# ---------------------------------------------------------------------------------------- load


def cmd_load(base, key, token, acked_path, threads, seconds, tag, kill_time_file):
    threads, seconds = int(threads), float(seconds)
    host, port = host_port(base)
    headers = dict(HEADERS, **{"x-api-key": key, "Authorization": "Bearer " + token})
    out = open(acked_path, "a", buffering=1)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    stats = {"acknowledged": 0, "acknowledged_orgs": 0, "links_acknowledged": 0, "statuses": {},
             "refused": 0, "unanswered": []}

    def worker(tid):
        conn = None
        n = 0
        pending_children = []  # users acknowledged since this thread's last organization
        while time.monotonic() < deadline:
            n += 1
            org = n % ORG_EVERY == 0 and pending_children
            if org:
                kids = pending_children[:2]
                body = {"type": "ORGANIZATION", "name": f"Crash Org {tid}-{n}",
                        "email": f"o{tag}t{tid}n{n}@crash.example.com", "phone": "+56912345678",
                        "documentType": "RUT", "documentNumber": rut(70000000 + tid * 100000 + n),
                        "country": "CHL", "securityOptions": {"twoFactorEnabled": False},
                        "children": [{"id": k} for k in kids]}
            else:
                kids = []
                body = {"type": "USER", "name": "Crash User", "lastname": "Load", "nickname": f"c{n}",
                        "email": f"u{tag}t{tid}n{n}@crash.example.com", "phone": "+56912345678",
                        "documentType": "RUT", "documentNumber": rut(10000000 + tid * 1000000 + n),
                        "idv": f"iv-{n}", "country": "CHL",
                        "securityOptions": {"twoFactorEnabled": False}, "children": []}
            payload = json.dumps(body)
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=10)
            sent_at = time.time()
            try:
                conn.request("POST", "/sandbox/identities", body=payload, headers=headers)
                r = conn.getresponse()
                data = r.read()
            except ConnectionRefusedError:
                conn.close()
                conn = None
                with lock:
                    stats["refused"] += 1
                time.sleep(0.05)  # server down: do not spin
                continue
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = None
                with lock:
                    stats["unanswered"].append(sent_at)
                if org:  # outcome unknown: do not offer these users as children again
                    del pending_children[:len(kids)]
                time.sleep(0.05)
                continue
            if r.status == 201:
                got = json.loads(data)
                kind = got["type"]
                line = f"{got['id']} {kind} {body['email']} {body['documentNumber']} {','.join(kids) or '-'}\n"
                with lock:
                    out.write(line)
                    out.flush()
                    stats["acknowledged"] += 1
                    if org:
                        stats["acknowledged_orgs"] += 1
                        stats["links_acknowledged"] += len(kids)
                if org:
                    del pending_children[:len(kids)]
                else:
                    pending_children.append(got["id"])
            else:
                with lock:
                    stats["statuses"][str(r.status)] = stats["statuses"].get(str(r.status), 0) + 1
                if org:
                    del pending_children[:len(kids)]
            if r.will_close:
                conn.close()
                conn = None

    ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.close()
    kill_at = None
    try:
        kill_at = float(open(kill_time_file).read().strip())
    except (OSError, ValueError):
        pass
    unanswered = stats.pop("unanswered")
    stats["unanswered"] = len(unanswered)
    stats["in_flight_at_kill"] = None if kill_at is None else sum(1 for t in unanswered if t < kill_at)
    stats["other_statuses"] = stats.pop("statuses")
    print(json.dumps(stats))


# -------------------------------------------------------------------------------------- verify


def cmd_verify(base, key, token, acked_path):
    host, port = host_port(base)
    headers = dict(HEADERS, **{"x-api-key": key, "Authorization": "Bearer " + token})
    acked = read_acked(acked_path)
    missing, different = [], []
    checked = [0]  # identities answered 200; with `missing`, must account for every acknowledged id
    lock = threading.Lock()

    def worker(part):
        conn = http.client.HTTPConnection(host, port, timeout=10)
        for a in part:
            try:
                conn.request("GET", "/sandbox/identities/" + a["id"], headers=headers)
                r = conn.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException) as e:  # counts as not found, never skipped
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
                with lock:
                    missing.append((a["id"], f"error {e!r}"))
                continue
            if r.status != 200:
                with lock:
                    missing.append((a["id"], r.status))
                continue
            with lock:
                checked[0] += 1
            g = json.loads(data)
            want = (a["kind"], a["email"], a["doc"], a["children"])
            have = (g.get("type"), g.get("email") if a["email"] != "-" else "-",
                    g.get("documentNumber") if a["doc"] != "-" else "-",
                    [c["id"] for c in g.get("children") or []])
            if want != have:
                with lock:
                    different.append((a["id"], want, have))
        conn.close()

    ts = [threading.Thread(target=worker, args=(acked[i::4],)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for i, st in missing[:20]:
        print(f"  LOST {i}: GET answered {st}", file=sys.stderr)
    for i, want, have in different[:20]:
        print(f"  DIFFERENT {i}: acknowledged {want}, now {have}", file=sys.stderr)
    unchecked = len(acked) - len(missing) - checked[0]  # a worker died: never a silent pass
    print(json.dumps({"acknowledged": len(acked), "found": checked[0], "lost": len(missing),
                      "different": len(different), "unchecked": unchecked}))
    sys.exit(1 if missing or different or unchecked or not acked else 0)


# -------------------------------------------------------------------------------- sqlite-check


def cmd_sqlite_check(db, acked_path):
    if not os.path.exists(db):
        sys.exit(f"no database file {db}")
    c = sqlite3.connect(db)
    res = {}
    res["integrity_check"] = "; ".join(r[0] for r in c.execute("PRAGMA integrity_check"))
    res["foreign_key_check_rows"] = len(c.execute("PRAGMA foreign_key_check").fetchall())
    bad_json = 0
    for (attrs,) in c.execute("select attributes from identities"):
        try:
            ok = isinstance(json.loads(attrs), dict)
        except (TypeError, ValueError):
            ok = False
        bad_json += not ok
    res["invalid_attributes"] = bad_json
    res["half_written_rows"] = c.execute(
        "select count(*) from identities where id = '' or kind not in ('USER', 'ORGANIZATION') or name = ''"
        " or country = '' or document_type = '' or document_number = '' or document_key = ''"
        " or status = '' or created_at <= 0 or updated_at < created_at or version < 1").fetchone()[0]
    res["orphan_links"] = c.execute(
        "select count(*) from identity_children c where"
        " not exists (select 1 from identities i where i.client_id = c.client_id and"
        "   i.environment = c.environment and i.id = c.child_id and i.deleted_at is null) or"
        " not exists (select 1 from identities i where i.client_id = c.client_id and"
        "   i.environment = c.environment and i.id = c.parent_id and i.deleted_at is null)").fetchone()[0]
    res["rows"] = c.execute("select count(*) from identities").fetchone()[0]
    res["links"] = c.execute("select count(*) from identity_children").fetchone()[0]
    rows = {r[0]: r[1:] for r in c.execute(
        "select id, kind, email, document_number from identities where environment = 'sandbox' and deleted_at is null")}
    links = set(c.execute("select parent_id, child_id from identity_children where environment = 'sandbox'"))
    acked = read_acked(acked_path)
    lost = different = lost_links = 0
    for a in acked:
        r = rows.get(a["id"])
        if r is None:
            lost += 1
            print(f"  LOST {a['id']}: no live row", file=sys.stderr)
            continue
        if (r[0], r[1] if a["email"] != "-" else "-", r[2] if a["doc"] != "-" else "-") != \
                (a["kind"], a["email"], a["doc"]):
            different += 1
            print(f"  DIFFERENT {a['id']}: row {r}, acknowledged {a}", file=sys.stderr)
        lost_links += sum(1 for k in a["children"] if (a["id"], k) not in links)
    res.update(acknowledged=len(acked), lost=lost, different=different, lost_links=lost_links)
    print(json.dumps(res))
    ok = (res["integrity_check"] == "ok" and res["foreign_key_check_rows"] == 0 and bad_json == 0
          and res["half_written_rows"] == 0 and res["orphan_links"] == 0 and lost == 0 and different == 0
          and lost_links == 0 and acked)
    sys.exit(0 if ok else 1)


def cmd_tsv(acked_path, ids_tsv, links_tsv):
    acked = read_acked(acked_path)
    with open(ids_tsv, "w") as f:
        for a in acked:
            f.write(f"{a['id']}\t{a['kind']}\t{a['email']}\t{a['doc']}\n")
    with open(links_tsv, "w") as f:
        for a in acked:
            for k in a["children"]:
                f.write(f"{a['id']}\t{k}\n")


if __name__ == "__main__":
    cmds = {"load": (cmd_load, 8), "verify": (cmd_verify, 4), "sqlite-check": (cmd_sqlite_check, 2),
            "tsv": (cmd_tsv, 3)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or len(sys.argv) - 2 != cmds[sys.argv[1]][1]:
        sys.exit(__doc__)
    cmds[sys.argv[1]][0](*sys.argv[2:])
