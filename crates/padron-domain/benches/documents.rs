//! Document validator speed: `DocumentNumber::parse` on formatted real-world inputs, one per
//! family of rules, plus strict failures. Target: under 1 µs per document (docs/BENCHMARKS.md).

use std::fmt;
use std::hint::black_box;

use padron_domain::{Country, DocumentNumber, DocumentType, document_countries, document_types};

fn main() {
    divan::main();
}

/// One input, named in the report as `country type input`.
struct Case(&'static str, &'static str, &'static str);

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.0, self.1, self.2)
    }
}

/// Numbers as people type them (separators, lower case), and two that fail only strictly.
const CASES: &[Case] = &[
    Case("CHL", "RUT", "17.604.011-4"),
    Case("CHL", "RUT", "18604011-4"),
    Case("MEX", "CURP", "BOXW310820HNERXN09"),
    Case("MEX", "RFC", "gode561231gr8"),
    Case("BRA", "CPF", "529.982.247-25"),
    Case("BRA", "CNPJ", "12.ABC.345/01DE-35"),
    Case("ARG", "CUIT", "20-12345678-6"),
    Case("COL", "NIT", "213.123.432-1"),
    Case("PER", "RUC", "20512333797"),
    Case("URY", "RUT", "211003420017"),
    Case("ECU", "RUC", "1792060346001"),
    Case("USA", "SSN", "536-90-4399"),
    Case("ESP", "NIE", "X2482300W"),
    Case("ESP", "CIF", "J99216582"),
    Case("FRA", "PASSPORT", "X1234567"),
    Case("BRA", "CPF", "529.982.247-24"),
];

#[divan::bench(args = CASES)]
fn parse(bencher: divan::Bencher, case: &Case) {
    let country = Country::parse(case.0).expect("country");
    let doc_type = DocumentType::parse(case.1).expect("type");
    bencher.bench(|| {
        DocumentNumber::parse(black_box(country), black_box(doc_type), black_box(case.2))
    });
}

/// Every advertised example of every §6.2 country (35 numbers) per iteration: the mean over
/// all document types, divide by 35.
#[divan::bench]
fn every_example(bencher: divan::Bencher) {
    let examples: Vec<(Country, DocumentType, &str)> = document_countries()
        .flat_map(|c| {
            document_types(c)
                .into_iter()
                .map(move |i| (c, i.document_type, i.example))
        })
        .collect();
    assert_eq!(examples.len(), 35);
    bencher
        .counter(divan::counter::ItemsCount::new(examples.len()))
        .bench(|| {
            for &(c, t, raw) in &examples {
                let _ = black_box(DocumentNumber::parse(c, t, black_box(raw)));
            }
        });
}

/// stdnum module name ⇒ Padron country and type (as in `tests/corpora.rs`).
const MODULES: [(&str, &str, &str); 20] = [
    ("cl.rut", "CHL", "RUT"),
    ("mx.curp", "MEX", "CURP"),
    ("mx.rfc", "MEX", "RFC"),
    ("br.cpf", "BRA", "CPF"),
    ("br.cnpj", "BRA", "CNPJ"),
    ("ar.dni", "ARG", "DNI"),
    ("ar.cuit", "ARG", "CUIT"),
    ("co.nit", "COL", "NIT"),
    ("pe.cui", "PER", "DNI"),
    ("pe.ruc", "PER", "RUC"),
    ("uy.rut", "URY", "RUT"),
    ("ec.ci", "ECU", "CI"),
    ("ec.ruc", "ECU", "RUC"),
    ("us.ssn", "USA", "SSN"),
    ("us.itin", "USA", "ITIN"),
    ("us.ein", "USA", "EIN"),
    ("es.dni", "ESP", "DNI"),
    ("es.nie", "ESP", "NIE"),
    ("es.cif", "ESP", "CIF"),
    ("es.nif", "ESP", "NIF"),
];

/// Every applicable row of `shared/corpora/documents.tsv` (the rows `bench/validate_vs_stdnum.py`
/// times python-stdnum on), validator only: no JSON, no IO. Skipped when the corpus is absent.
#[divan::bench]
fn corpus_rows(bencher: divan::Bencher) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpora/documents.tsv"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let rows: Vec<(Country, DocumentType, String)> = text
        .lines()
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let (module, number) = (cols.next()?, cols.next()?);
            let &(_, c, t) = MODULES.iter().find(|m| m.0 == module)?;
            let country = Country::parse(c).ok()?;
            Some((country, DocumentType::parse(t)?, number.to_owned()))
        })
        .collect();
    bencher
        .counter(divan::counter::ItemsCount::new(rows.len()))
        .bench(|| {
            for (c, t, raw) in &rows {
                let _ = black_box(DocumentNumber::parse(*c, *t, black_box(raw)));
            }
        });
}

/// Country and type names parsed too, as one line of `padron validate --batch` does.
#[divan::bench]
fn with_country_and_type_names(bencher: divan::Bencher) {
    bencher.bench(|| {
        let country = Country::parse(black_box("CHL")).expect("country");
        let doc_type = DocumentType::parse(black_box("RUT")).expect("type");
        DocumentNumber::parse(country, doc_type, black_box("17.604.011-4"))
    });
}
