#!/usr/bin/env python3
"""`padron validate --batch`'s job done with python-stdnum: the like-for-like peer.

Reads JSON lines {"country","documentType","documentNumber"} from stdin and writes one JSON
verdict line per input line, in order: {"valid", "canonical", "errors", "warnings"} — the same
contract as `padron validate --batch`, as a team would write it in Python with python-stdnum
(one `validate` call per row, its compact form as the canonical value, its exception as the
error). Lines of other shapes are answered as invalid. Used by bench/validate_vs_stdnum.py.
"""

import importlib
import json
import sys

from stdnum.exceptions import ValidationError

# (country, documentType) -> stdnum module, as in bench/validate_vs_stdnum.py.
MODULES = {
    ("CHL", "RUT"): "cl.rut", ("MEX", "CURP"): "mx.curp", ("MEX", "RFC"): "mx.rfc",
    ("BRA", "CPF"): "br.cpf", ("BRA", "CNPJ"): "br.cnpj", ("ARG", "DNI"): "ar.dni",
    ("ARG", "CUIT"): "ar.cuit", ("COL", "NIT"): "co.nit", ("PER", "DNI"): "pe.cui",
    ("PER", "RUC"): "pe.ruc", ("URY", "RUT"): "uy.rut", ("ECU", "CI"): "ec.ci",
    ("ECU", "RUC"): "ec.ruc", ("USA", "SSN"): "us.ssn", ("USA", "ITIN"): "us.itin",
    ("USA", "EIN"): "us.ein", ("ESP", "DNI"): "es.dni", ("ESP", "NIE"): "es.nie",
    ("ESP", "CIF"): "es.cif", ("ESP", "NIF"): "es.nif",
}


def main():
    modules = {k: importlib.import_module("stdnum." + v) for k, v in MODULES.items()}
    out = sys.stdout
    all_valid = True
    for line in sys.stdin:
        errors = []
        canonical = {}
        try:
            row = json.loads(line)
            key = (row["country"], row["documentType"])
            module = modules[key]
            canonical["country"], canonical["documentType"] = key
            canonical["documentNumber"] = module.validate(row["documentNumber"])
        except ValidationError as err:
            errors.append({"field": "documentNumber", "code": type(err).__name__,
                           "detail": err.message})
        except (ValueError, KeyError, TypeError) as err:
            errors.append({"field": "line", "code": "invalid", "detail": str(err)})
        all_valid &= not errors
        out.write(json.dumps({"valid": not errors, "canonical": canonical, "errors": errors,
                              "warnings": []}, ensure_ascii=False))
        out.write("\n")
    return 0 if all_valid else 1


if __name__ == "__main__":
    sys.exit(main())
