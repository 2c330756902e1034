#!/usr/bin/env python3
"""Writes seed inputs for the fuzz targets from shared/corpora into fuzz/corpus/<target>/.

document: byte 1 = country index, byte 2 = type index (the orders of fuzz_targets/document.rs and
DocumentType::ALL), then the number; phone: byte 1 = any country index, then the input; email: the
address. Run from anywhere: python3 fuzz/seed.py
"""

import collections
import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CORPORA = os.path.join(HERE, "..", "..", "shared", "corpora")
COUNTRIES = ["CHL", "MEX", "BRA", "ARG", "COL", "PER", "URY", "ECU", "USA", "ESP", "FRA"]
TYPES = ["RUT", "CURP", "RFC", "CPF", "CNPJ", "DNI", "CUIL", "CUIT", "CC", "CE", "NIT", "RUC",
         "CI", "SSN", "ITIN", "EIN", "NIE", "CIF", "NIF", "PASSPORT"]
MODULES = {"cl.rut": ("CHL", "RUT"), "mx.curp": ("MEX", "CURP"), "mx.rfc": ("MEX", "RFC"),
           "br.cpf": ("BRA", "CPF"), "br.cnpj": ("BRA", "CNPJ"), "ar.dni": ("ARG", "DNI"),
           "ar.cuit": ("ARG", "CUIT"), "co.nit": ("COL", "NIT"), "pe.cui": ("PER", "DNI"),
           "pe.ruc": ("PER", "RUC"), "uy.rut": ("URY", "RUT"), "ec.ci": ("ECU", "CI"),
           "ec.ruc": ("ECU", "RUC"), "us.ssn": ("USA", "SSN"), "us.itin": ("USA", "ITIN"),
           "us.ein": ("USA", "EIN"), "es.dni": ("ESP", "DNI"), "es.nie": ("ESP", "NIE"),
           "es.cif": ("ESP", "CIF"), "es.nif": ("ESP", "NIF")}
PER_MODULE = 60  # enough variety per rule; libFuzzer finds the rest


def write(target, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def main():
    taken = collections.Counter()
    with open(os.path.join(CORPORA, "documents.tsv"), encoding="utf-8") as f:
        for line in f:
            module, number, _ = line.rstrip("\n").split("\t")
            if module in MODULES and taken[module] < PER_MODULE:
                taken[module] += 1
                country, doc_type = MODULES[module]
                head = bytes([COUNTRIES.index(country), TYPES.index(doc_type)])
                write("document", head + number.encode())
    with open(os.path.join(CORPORA, "phones.tsv"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i and i % 5 == 0:
                write("phone", bytes([i % 250]) + line.split("\t")[1].encode())
    with open(os.path.join(CORPORA, "emails.tsv"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i:
                write("email", line.split("\t")[0].encode())


if __name__ == "__main__":
    main()
