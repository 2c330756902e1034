#!/usr/bin/env python3
"""How long does GET take for an organization with many children? (issue 6: 10,000 children
answered in under 20 ms.) Standard library only.

usage: bench/big_org.py [--padron target/release/padron] [--backend sqlite|postgres]
                        [--children 10000] [--requests 30] [--pg postgres://postgres@127.0.0.1:5432]
                        [--keep]

Starts `padron serve` on a fresh database (a new SQLite file, or a new PostgreSQL database
padron_bigorg_<pid>, dropped at the end), creates a client, one ORGANIZATION and --children USERs
through the API (8 threads, keep-alive), links them all to the organization with one
`POST /sandbox/identities/{org}/children` per 1,000, then times --requests sequential GETs of the
organization on one keep-alive connection (the first one, a warm-up, is not counted) and prints
the median, 90th percentile, best and worst in ms, with the answer's size. The time is the
client's: request sent to the last byte of the answer read, on loopback.
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import H2, rut  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(c, method, path, key, token, body=None):
    h = dict(H2, **{"x-api-key": key, "Authorization": "Bearer " + token})
    c.request(method, path, body=None if body is None else json.dumps(body), headers=h)
    r = c.getresponse()
    return r.status, r.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--padron", default=os.path.join(ROOT, "target", "release", "padron"))
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--children", type=int, default=10000)
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--keep", action="store_true", help="keep the database and the server log (printed)")
    args = ap.parse_args()
    if args.children < 1 or args.requests < 1:
        ap.error("--children and --requests must be at least 1")

    work = tempfile.mkdtemp(prefix="padron-bigorg.")
    pgdb = f"padron_bigorg_{os.getpid()}"
    if args.backend == "sqlite":
        url = f"sqlite://{work}/p.db"
    else:
        subprocess.run(["psql", "-q", f"{args.pg}/postgres", "-c", f"create database {pgdb}"], check=True)
        url = f"{args.pg}/{pgdb}"
    env = dict(os.environ, PADRON_DATABASE_URL=url)
    server = None
    try:
        subprocess.run([args.padron, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        creds = json.loads(subprocess.run([args.padron, "client", "create", "--name", "bigorg", "--json"],
                                          env=env, check=True, capture_output=True).stdout)
        port = free_port()
        log = open(os.path.join(work, "server.log"), "w")
        server = subprocess.Popen([args.padron, "serve", "--listen", f"127.0.0.1:{port}"], env=env,
                                  stdout=log, stderr=log)
        for _ in range(1000):
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                probe.request("GET", "/healthz")
                ready = probe.getresponse().status == 200
                probe.close()
                if ready:
                    break
            except OSError:
                pass
            time.sleep(0.01)
        else:
            sys.exit(f"the server did not become ready; see {work}/server.log")
        key = creds["sandbox"]["apiKey"]
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("POST", "/sandbox/auth", body=json.dumps(
            {"clientId": creds["clientId"], "clientSecret": creds["sandbox"]["clientSecret"]}),
            headers=dict(H2, **{"x-api-key": key}))
        token = json.loads(c.getresponse().read())["accessToken"]

        st, data = request(c, "POST", "/sandbox/identities", key, token, {
            "type": "ORGANIZATION", "name": "Big Org", "email": "big@org.example.com",
            "documentType": "RUT", "documentNumber": rut(76000001), "country": "CHL"})
        assert st == 201, (st, data[:300])
        org = json.loads(data)["id"]

        ids = [None] * args.children
        def make(lo, hi):
            cc = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for i in range(lo, hi):
                st, data = request(cc, "POST", "/sandbox/identities", key, token, {
                    "type": "USER", "name": f"Child {i}", "email": f"child{i}@big.example.com",
                    "documentType": "RUT", "documentNumber": rut(10000000 + i), "country": "CHL"})
                assert st == 201, (st, data[:300])
                ids[i] = json.loads(data)["id"]
        step = (args.children + 7) // 8
        threads = [threading.Thread(target=make, args=(lo, min(lo + step, args.children)))
                   for lo in range(0, args.children, step)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(ids), "some creates failed"
        if args.backend == "postgres":
            # Statistics as autovacuum has them a minute after such growth: tables filled within
            # seconds and never analysed make the planner expect one row everywhere and pick a
            # nested loop that compares every child with every identity (10 s for 10,000).
            subprocess.run(["psql", "-q", url, "-c", "analyze"], check=True)
        for lo in range(0, len(ids), 1000):  # at most 1,000 ids per request (wire::MAX_CHILDREN)
            st, data = request(c, "POST", f"/sandbox/identities/{org}/children", key, token, ids[lo:lo + 1000])
            assert st == 200, (st, data[:300])
            if args.backend == "postgres":
                subprocess.run(["psql", "-q", url, "-c", "analyze identity_children"], check=True)

        times, size = [], 0
        for n in range(args.requests + 1):
            t0 = time.perf_counter()
            st, data = request(c, "GET", f"/sandbox/identities/{org}", key, token)
            dt = time.perf_counter() - t0
            assert st == 200, (st, data[:300])
            if n == 0:
                got = json.loads(data)
                assert len(got["children"]) == args.children, len(got["children"])
                assert [k["id"] for k in got["children"]] == ids, "children not in link order"
                continue
            times.append(dt * 1000)
            size = len(data)
        times.sort()
        p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
        print(f"{args.backend}: GET of an organization with {args.children} children, {args.requests} "
              f"sequential requests, answer {size / 1024:.0f} KiB: median {statistics.median(times):.1f} ms, "
              f"p90 {p90:.1f} ms, best {times[0]:.1f} ms, worst {times[-1]:.1f} ms")
    finally:
        if server:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if args.keep:
            print(f"kept {url} ({work})")
        else:
            if args.backend == "postgres":
                subprocess.run(["psql", "-q", f"{args.pg}/postgres", "-c", f"drop database if exists {pgdb}"])
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
