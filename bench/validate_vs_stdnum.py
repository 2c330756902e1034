#!/usr/bin/env python3
"""Times `padron validate --batch` against python-stdnum's `is_valid` on the same rows.

Both run in this one invocation, on the rows of shared/corpora/documents.tsv whose stdnum module
has a Padron equivalent (converted to JSON lines for padron). Each side runs --runs times and the
median is kept. Padron is timed as a whole process (start-up, reading and parsing JSON, writing a
JSON verdict per line); stdnum only inside its loop (interpreter start-up and imports excluded),
which favours stdnum.

Usage: bench/validate_vs_stdnum.py [--padron target/release/padron] [--runs 7] [--scale 1]
Needs: python-stdnum (pip install python-stdnum) and a release build (built here if missing).
"""

import argparse
import importlib
import json
import os
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


def time_padron(binary, jsonl_path, out_path):
    with open(jsonl_path, "rb") as stdin, open(out_path, "wb") as stdout:
        start = time.perf_counter()
        proc = subprocess.run([binary, "validate", "--batch"], stdin=stdin, stdout=stdout)
        elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"padron failed with exit code {proc.returncode}")
    return elapsed


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
        padron_times, stdnum_times = [], []
        stdnum_verdicts = None
        # Interleaved, so a burst of load on the machine hits both sides alike.
        for _ in range(args.runs):
            padron_times.append(time_padron(args.padron, jsonl, out))
            elapsed, stdnum_verdicts = time_stdnum(rows, modules)
            stdnum_times.append(elapsed)
        with open(out, encoding="utf-8") as f:
            padron_verdicts = [json.loads(line)["valid"] for line in f]

    if len(padron_verdicts) != len(rows):
        sys.exit(f"padron answered {len(padron_verdicts)} lines for {len(rows)} rows")
    agree = sum(p == s for p, s in zip(padron_verdicts, stdnum_verdicts))
    padron_s = statistics.median(padron_times)
    stdnum_s = statistics.median(stdnum_times)
    n = len(rows)
    print(f"rows: {n} ({len(MODULES)} stdnum modules with a Padron equivalent, scale {args.scale})")
    print(f"python-stdnum {stdnum.__version__} is_valid loop: {stdnum_s * 1e3:8.1f} ms "
          f"({stdnum_s / n * 1e9:7.0f} ns/row), median of {args.runs}")
    print(f"padron validate --batch process: {padron_s * 1e3:8.1f} ms "
          f"({padron_s / n * 1e9:7.0f} ns/row), median of {args.runs}")
    print(f"verdicts agreeing with stdnum: {agree}/{n} ({agree / n:.2%}; "
          "the differences are the deviations listed in docs/VALIDATION.md)")
    print(f"ratio: padron is {stdnum_s / padron_s:.1f}x faster (target: 50x)")


if __name__ == "__main__":
    main()
