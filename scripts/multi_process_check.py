#!/usr/bin/env python3
"""Two `padron serve` processes on one PostgreSQL database behave as one service.

Usage: multi_process_check.py PADRON_BINARY POSTGRES_ADMIN_URL

Creates a fresh database, starts both processes at the same moment on it (so migrations and the
first signing key race), and checks: a token issued by A is accepted by B; identical creates raced
through both processes yield exactly one 201; a list walk through B sees every identity created
through A; an Idempotency-Key used through A is replayed by B. Python standard library only. Prints one line per check and 'N passed, N failed'.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

results = []


def check(name, ok, info=""):
    results.append(bool(ok))
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else f"  -- {info}"))
    return ok


def call(base, method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base, proc, deadline):
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=1) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.05)
    return False


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    binary, admin = sys.argv[1], sys.argv[2]
    db = f"padron_multi_{os.getpid()}"
    subprocess.run(["psql", admin, "-qc", "set client_min_messages = warning", "-c", f"drop database if exists {db}",
                    "-c", f"create database {db}"], check=True)
    url = admin.rsplit("/", 1)[0] + "/" + db
    env = dict(os.environ, PADRON_DATABASE_URL=url, PADRON_LOG="warn")
    work = tempfile.mkdtemp()
    procs = []
    try:
        ports = [free_port(), free_port()]
        for i, port in enumerate(ports):
            log = open(os.path.join(work, f"p{i}.log"), "w")
            procs.append(subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}"], env=env,
                                          stdout=log, stderr=log))
        a, b = (f"http://127.0.0.1:{p}" for p in ports)
        deadline = time.time() + 60
        ready = [wait_ready(a, procs[0], deadline), wait_ready(b, procs[1], deadline)]
        if not check("both processes start at once on an empty database", all(ready), ready):
            for i in range(2):
                print(open(os.path.join(work, f"p{i}.log")).read())
            return 1
        out = subprocess.run([binary, "client", "create", "--name", "multi", "--json"], env=env,
                             capture_output=True, check=True, text=True).stdout
        creds = json.loads(out)
        sbx = creds["sandbox"]
        st, tok = call(a, "POST", "/sandbox/auth", {"clientId": creds["clientId"], "clientSecret": sbx["clientSecret"]},
                       {"x-api-key": sbx["apiKey"]})
        h = {"x-api-key": sbx["apiKey"], "Authorization": "Bearer " + (tok or {}).get("accessToken", ""),
             "conomyhq-api-version": "24-04-2025"}
        st, doc = call(b, "GET", "/sandbox/identities", None, h)
        check("a token issued by process A is accepted by process B", st == 200, f"{st} {doc}")

        body = {"type": "USER", "name": "Race", "email": "race@example.com", "phone": "+56961234567",
                "country": "CHL", "documentType": "RUT", "documentNumber": "17604011-4"}
        statuses = []
        lock = threading.Lock()
        barrier = threading.Barrier(40)

        def fire(base):
            barrier.wait()
            st, _ = call(base, "POST", "/sandbox/identities", body, h)
            with lock:
                statuses.append(st)

        threads = [threading.Thread(target=fire, args=(a if i % 2 else b,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check("40 identical creates raced through both processes yield exactly one 201",
              statuses.count(201) == 1 and statuses.count(409) == 39, sorted(statuses))

        key = {"Idempotency-Key": f"multi-{os.getpid()}"}
        once = dict(body, email="idem@example.com")
        st1, first = call(a, "POST", "/sandbox/identities", once, {**h, **key})
        st2, again = call(b, "POST", "/sandbox/identities", once, {**h, **key})
        check("an Idempotency-Key used through A is replayed by B",
              st1 == 201 and st2 == 201 and first == again, f"{st1} {st2}")

        created = set()
        for i in range(30):
            st, doc = call(a, "POST", "/sandbox/identities",
                           dict(body, email=f"walk{i}@example.com", name=f"Walk {i}"), h)
            if st == 201:
                created.add(doc["id"])
        seen, cursor = [], None
        while True:
            path = "/sandbox/identities?limit=7" + (f"&next={cursor}" if cursor else "")
            st, page = call(b, "GET", path, None, h)
            if st != 200:
                break
            seen.extend(i["id"] for i in page["data"])
            cursor = page["pagination"]["next"]
            if not cursor:
                break
        check("a list walk through B sees every identity created through A exactly once",
              len(created) == 30 and created <= set(seen) and len(seen) == len(set(seen)),
              f"created {len(created)}, seen {len(seen)}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["psql", admin, "-qc", f"drop database if exists {db}"], check=False)
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
