#!/usr/bin/env python3
"""Times `padron validate --batch` against python-stdnum on the same rows, in one run.

The rows are those of shared/corpora/documents.tsv whose stdnum module has a Padron equivalent,
written once as JSON lines. Each run times, interleaved so a burst of load hits all alike:

1. `padron validate --batch` as a whole process (start-up, reading and parsing JSON, validating,
   writing a JSON verdict per line);
2. bench/stdnum_batch.py, the same job done with python-stdnum as a whole process (the same JSON
   lines in, a JSON verdict per line out): the like-for-like comparison;
3. python-stdnum's `is_valid` alone in a loop inside this script (interpreter start-up, imports,
   JSON and output excluded): a stricter floor that favours stdnum, since Padron's figure still
   includes all of its I/O.

Each is run --runs times and the median kept. The verdicts of 1 and 3 are compared.

Usage: bench/validate_vs_stdnum.py [--padron target/release/padron] [--runs 7] [--scale 1]
       [--jobs N]  (padron's worker threads; default: one per core)
Needs: python-stdnum (pip install python-stdnum) and a release build (built here if missing).
"""

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpora", "documents.tsv")

# stdnum module -> (Padron country, Padron document type); the same table as the corpus test
# (crates/padron-domain/tests/corpora.rs). Modules without an equivalent are skipped.
MODULES = {
    "cl.rut": ("CHL", "RUT"),
    "mx.curp": ("MEX", "CURP"),
    "mx.rfc": ("MEX", "RFC"),
    "br.cpf": ("BRA", "CPF"),
    "br.cnpj": ("BRA", "CNPJ"),
    "ar.dni": ("ARG", "DNI"),
    "ar.cuit": ("ARG", "CUIT"),
    "co.nit": ("COL", "NIT"),
    "pe.cui": ("PER", "DNI"),
    "pe.ruc": ("PER", "RUC"),
    "uy.rut": ("URY", "RUT"),
    "ec.ci": ("ECU", "CI"),
    "ec.ruc": ("ECU", "RUC"),
    "us.ssn": ("USA", "SSN"),
    "us.itin": ("USA", "ITIN"),
    "us.ein": ("USA", "EIN"),
    "es.dni": ("ESP", "DNI"),
    "es.nie": ("ESP", "NIE"),
    "es.cif": ("ESP", "CIF"),
    "es.nif": ("ESP", "NIF"),
}


def load_rows(path, scale):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) == 3 and cols[0] in MODULES:
                rows.append((cols[0], cols[1], cols[2] == "1"))
    return rows * scale


def time_process(argv, jsonl_path, out_path):
    """Wall time and CPU time (user + system, all threads) of one run of `argv`."""
    with open(jsonl_path, "rb") as stdin, open(out_path, "wb") as stdout:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(argv, stdin=stdin, stdout=stdout)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"{argv[0]} failed with exit code {proc.returncode}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def time_stdnum(rows, modules):
    start = time.perf_counter()
    verdicts = [modules[m].is_valid(n) for m, n, _ in rows]
    return time.perf_counter() - start, verdicts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--padron", default=os.path.join(ROOT, "target", "release", "padron"))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--scale", type=int, default=1, help="repeat the rows N times on both sides")
    ap.add_argument("--corpus", default=CORPUS)
    ap.add_argument("--jobs", type=int, help="padron --jobs (default: one per core)")
    args = ap.parse_args()

    if not os.path.exists(args.padron):
        subprocess.run(["cargo", "build", "--release", "-p", "padron"], cwd=ROOT, check=True)
    try:
        import stdnum
    except ImportError:
        sys.exit("python-stdnum is missing: pip install python-stdnum")
    modules = {m: importlib.import_module("stdnum." + m) for m in MODULES}
    rows = load_rows(args.corpus, args.scale)

    with tempfile.TemporaryDirectory() as tmp:
        jsonl = os.path.join(tmp, "in.jsonl")
        out = os.path.join(tmp, "out.jsonl")
        with open(jsonl, "w", encoding="utf-8") as f:
            for m, number, _ in rows:
                country, doc_type = MODULES[m]
                f.write(json.dumps({"country": country, "documentType": doc_type,
                                    "documentNumber": number}, ensure_ascii=False) + "\n")
        padron = [args.padron, "validate", "--batch"]
        if args.jobs:
            padron += ["--jobs", str(args.jobs)]
        peer = [sys.executable, os.path.join(ROOT, "bench", "stdnum_batch.py")]
        peer_out = os.path.join(tmp, "peer.jsonl")
        padron_times, peer_times, stdnum_times = [], [], []
        padron_cpu, peer_cpu = [], []
        stdnum_verdicts = None
        # Interleaved, so a burst of load on the machine hits every side alike.
        for _ in range(args.runs):
            wall, cpu = time_process(padron, jsonl, out)
            padron_times.append(wall)
            padron_cpu.append(cpu)
            wall, cpu = time_process(peer, jsonl, peer_out)
            peer_times.append(wall)
            peer_cpu.append(cpu)
            elapsed, stdnum_verdicts = time_stdnum(rows, modules)
            stdnum_times.append(elapsed)
        with open(out, encoding="utf-8") as f:
            padron_verdicts = [json.loads(line)["valid"] for line in f]
        with open(peer_out, encoding="utf-8") as f:
            peer_lines = sum(1 for _ in f)

    if len(padron_verdicts) != len(rows) or peer_lines != len(rows):
        sys.exit(f"answers: padron {len(padron_verdicts)}, peer {peer_lines}, rows {len(rows)}")
    agree = sum(p == s for p, s in zip(padron_verdicts, stdnum_verdicts))
    padron_s = statistics.median(padron_times)
    peer_s = statistics.median(peer_times)
    stdnum_s = statistics.median(stdnum_times)
    n = len(rows)

    def line(label, secs):
        return f"{label:<44} {secs * 1e3:9.1f} ms ({secs / n * 1e9:7.0f} ns/row)"

    print(f"rows: {n} ({len(MODULES)} stdnum modules with a Padron equivalent, scale {args.scale}), "
          f"median of {args.runs} runs, python-stdnum {stdnum.__version__}")
    print(line("padron validate --batch (whole process)", padron_s))
    print(line("bench/stdnum_batch.py (whole process)", peer_s))
    print(line("python-stdnum is_valid loop only", stdnum_s))
    print(f"verdicts agreeing with stdnum: {agree}/{n} ({agree / n:.2%}; "
          "the differences are the deviations listed in docs/VALIDATION.md)")
    print(f"ratio, process vs process: padron is {peer_s / padron_s:.1f}x faster (target: 50x)")
    print(f"ratio, padron process vs stdnum's bare loop: {stdnum_s / padron_s:.1f}x")
    pc, qc = statistics.median(padron_cpu), statistics.median(peer_cpu)
    print(f"CPU time (user + system, all threads): padron {pc * 1e3:.1f} ms, stdnum_batch.py "
          f"{qc * 1e3:.1f} ms: {qc / pc:.1f}x less CPU")


if __name__ == "__main__":
    main()
