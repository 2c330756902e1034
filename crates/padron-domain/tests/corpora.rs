//! Agreement with the reference corpora in `shared/corpora` (python-stdnum for documents,
//! libphonenumber for phones, isemail for emails): every applicable row must get the reference
//! verdict at the strict level, except rows listed, with a reason, in the `*.deviations.tsv`
//! files next to this test. A listed row that agrees again fails too, so the lists stay honest.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use padron_domain::{Country, DocumentNumber, DocumentType, EmailAddress, PhoneNumber};

/// The corpora directory: `PADRON_CORPORA_DIR` when set (to run the same checks on another
/// sample), otherwise `shared/corpora` next to the repository.
fn corpus(name: &str) -> Option<String> {
    let dir = std::env::var_os("PADRON_CORPORA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
        });
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) => {
            println!("skipping: corpus {} not found", path.display());
            None
        }
    }
}

/// Deviations: first columns identify the row, the last one is the reason.
fn deviations(name: &str, key_cols: usize) -> HashMap<Vec<String>, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert!(cols.len() > key_cols, "{name}: bad line {l:?}");
            let reason = cols[key_cols].trim();
            assert!(
                !reason.is_empty(),
                "{name}: deviation without a reason: {l:?}"
            );
            (
                cols[..key_cols].iter().map(|s| s.to_string()).collect(),
                reason.to_string(),
            )
        })
        .collect()
}

/// Per-module tallies and the disagreements not listed as deviations.
#[derive(Default)]
struct Tally {
    modules: BTreeMap<String, (usize, usize, usize)>, // rows, agree, listed deviations
    unexplained: Vec<String>,
}

impl Tally {
    fn record(
        &mut self,
        module: &str,
        agrees: bool,
        key: Vec<String>,
        devs: &HashMap<Vec<String>, String>,
        what: String,
    ) {
        let entry = self.modules.entry(module.to_string()).or_default();
        entry.0 += 1;
        let listed = devs.contains_key(&key);
        match (agrees, listed) {
            (true, false) => entry.1 += 1,
            (false, true) => entry.2 += 1,
            (false, false) => self.unexplained.push(format!("disagrees: {what}")),
            (true, true) => {
                entry.1 += 1;
                self.unexplained
                    .push(format!("listed as a deviation but agrees: {what}"));
            }
        }
    }

    fn report(self, corpus: &str) {
        println!("{corpus}: module, rows, agree, deviations, agreement");
        for (module, (rows, agree, devs)) in &self.modules {
            println!(
                "  {module:10} {rows:6} {agree:6} {devs:5}  {:.2}% ({:.2}% with deviations)",
                100.0 * *agree as f64 / *rows as f64,
                100.0 * (*agree + *devs) as f64 / *rows as f64
            );
        }
        if !self.unexplained.is_empty() {
            for line in self.unexplained.iter().take(1000) {
                println!("  {line}");
            }
            panic!(
                "{corpus}: {} rows disagree without a listed deviation",
                self.unexplained.len()
            );
        }
    }
}

/// stdnum module ⇒ Padron country and document type.
fn document_module(module: &str) -> Option<(&'static str, DocumentType)> {
    use DocumentType::*;
    Some(match module {
        "cl.rut" => ("CHL", Rut),
        "mx.curp" => ("MEX", Curp),
        "mx.rfc" => ("MEX", Rfc),
        "br.cpf" => ("BRA", Cpf),
        "br.cnpj" => ("BRA", Cnpj),
        "ar.dni" => ("ARG", Dni),
        "ar.cuit" => ("ARG", Cuit),
        "co.nit" => ("COL", Nit),
        "pe.cui" => ("PER", Dni),
        "pe.ruc" => ("PER", Ruc),
        "uy.rut" => ("URY", Rut),
        "ec.ci" => ("ECU", Ci),
        "ec.ruc" => ("ECU", Ruc),
        "us.ssn" => ("USA", Ssn),
        "us.itin" => ("USA", Itin),
        "us.ein" => ("USA", Ein),
        "es.dni" => ("ESP", Dni),
        "es.nie" => ("ESP", Nie),
        "es.cif" => ("ESP", Cif),
        "es.nif" => ("ESP", Nif),
        _ => return None,
    })
}

#[test]
fn documents_agree_with_python_stdnum() {
    let Some(text) = corpus("documents.tsv") else {
        return;
    };
    let devs = deviations("documents.deviations.tsv", 2);
    let mut tally = Tally::default();
    let mut skipped: BTreeMap<&str, usize> = BTreeMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let [module, number, valid] = cols[..] else {
            panic!("bad row {line:?}")
        };
        let Some((country, t)) = document_module(module) else {
            *skipped.entry(module).or_default() += 1;
            continue;
        };
        let country = Country::parse(country).unwrap();
        let ours = DocumentNumber::parse(country, t, number).is_ok_and(|c| c.strict.is_empty());
        let key = vec![module.to_string(), number.to_string()];
        tally.record(
            module,
            ours == (valid == "1"),
            key,
            &devs,
            format!("{module}\t{number}\treference {valid}"),
        );
    }
    println!("documents: modules without a Padron equivalent (skipped): {skipped:?}");
    tally.report("documents");
}

#[test]
fn phones_agree_with_libphonenumber() {
    let Some(text) = corpus("phones.tsv") else {
        return;
    };
    let devs = deviations("phones.deviations.tsv", 2);
    let mut tally = Tally::default();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (alpha3, input, valid, e164) = (cols[0], cols[1], cols[2] == "1", cols[4]);
        let country = Country::parse(alpha3).unwrap();
        let ours = PhoneNumber::parse(input, country)
            .ok()
            .filter(|c| c.strict.is_empty());
        let agrees = match &ours {
            Some(c) => valid && c.value.as_str() == e164,
            None => !valid,
        };
        let key = vec![alpha3.to_string(), input.to_string()];
        let what = format!(
            "{alpha3}\t{input}\treference {}\t{e164}\tours {:?}",
            cols[2],
            ours.map(|c| c.value)
        );
        tally.record(alpha3, agrees, key, &devs, what);
    }
    tally.report("phones");
}

/// isemail writes ASCII control characters as U+2400 + n; turns them back.
fn decode_controls(s: &str) -> String {
    s.chars()
        .map(|c| match c as u32 {
            0x2400..=0x241F => char::from_u32(c as u32 - 0x2400).unwrap_or(c),
            0x2421 => '\u{7F}',
            _ => c,
        })
        .collect()
}

#[test]
fn emails_agree_with_isemail() {
    let Some(text) = corpus("emails.tsv") else {
        return;
    };
    let devs = deviations("emails.deviations.tsv", 2);
    let mut tally = Tally::default();
    let mut non_ascii = 0;
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (address, structural, strict) = (cols[0], cols[1], cols[2]);
        if structural == "-" {
            // RFC 6532 rows: Padron's own decision (refused), checked by unit tests.
            non_ascii += 1;
            assert!(
                EmailAddress::parse(&decode_controls(address)).is_err(),
                "{address:?}"
            );
            continue;
        }
        let parsed = EmailAddress::parse(&decode_controls(address));
        let ours_structural = parsed.is_ok();
        let ours_strict = parsed.is_ok_and(|c| c.strict.is_empty());
        for (level, ours, reference) in [
            ("structural", ours_structural, structural),
            ("strict", ours_strict, strict),
        ] {
            let key = vec![address.to_string(), level.to_string()];
            tally.record(
                level,
                ours == (reference == "1"),
                key,
                &devs,
                format!("{address}\t{level}\treference {reference}"),
            );
        }
    }
    println!("emails: {non_ascii} non-ASCII (RFC 6532) rows refused by decision");
    tally.report("emails");
}
