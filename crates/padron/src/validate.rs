//! `padron validate`: checks one document number, phone or email offline with the same
//! validators the API uses, printing the canonical form or every reason it fails; with
//! `--batch`, checks JSON lines from stdin (see [`batch`]).

mod batch;

use std::process::ExitCode;

use clap::Args;
use padron_domain::{
    Checked, Country, DocumentNumber, DocumentType, EmailAddress, Issue, PhoneNumber,
    ValidationLevel,
};

use crate::cli::LevelArg;

/// `padron validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Read JSON lines from stdin ({"country","documentType","documentNumber"}, {"country",
    /// "phone"}, {"email"}, or several together) and write one JSON verdict line per input
    /// line, in order. Exit code 0 when every line is valid, 1 otherwise, 2 on a read or write
    /// failure.
    #[arg(long, env = "PADRON_VALIDATE_BATCH", conflicts_with_all = ["country", "document_type", "phone", "email", "number"])]
    pub batch: bool,
    /// With --batch: how many threads check lines (default: one per core, at most 8). The
    /// answers keep the input order whatever the number.
    #[arg(long, env = "PADRON_VALIDATE_JOBS", requires = "batch")]
    pub jobs: Option<std::num::NonZeroUsize>,
    /// ISO 3166-1 alpha-3 country of the document or phone.
    #[arg(long, env = "PADRON_VALIDATE_COUNTRY")]
    pub country: Option<String>,
    /// Document type (RUT, CURP, CPF, …); the number is the positional argument.
    #[arg(long = "type", env = "PADRON_VALIDATE_TYPE")]
    pub document_type: Option<String>,
    /// A phone number to check against --country.
    #[arg(long, env = "PADRON_VALIDATE_PHONE")]
    pub phone: Option<String>,
    /// An email address.
    #[arg(long, env = "PADRON_VALIDATE_EMAIL")]
    pub email: Option<String>,
    /// structural or strict.
    #[arg(
        long,
        value_enum,
        env = "PADRON_VALIDATION_LEVEL",
        default_value = "strict"
    )]
    pub level: LevelArg,
    /// The document number.
    pub number: Option<String>,
}

/// What one check printed.
struct Outcome {
    field: &'static str,
    result: Result<(String, Vec<Issue>), Vec<Issue>>,
}

fn apply<T>(
    field: &'static str,
    level: ValidationLevel,
    r: Result<Checked<T>, Issue>,
    show: impl Fn(T) -> String,
) -> Outcome {
    let result = match r {
        Err(issue) => Err(vec![issue]),
        Ok(checked) => checked
            .at_level(level)
            .map(|(v, warnings)| (show(v), warnings)),
    };
    Outcome { field, result }
}

/// Runs the command; exit code 0 when every given value is valid, 1 otherwise, 2 on usage errors.
pub fn run(args: &ValidateArgs) -> ExitCode {
    let level = ValidationLevel::from(args.level);
    if args.batch {
        return batch::run(level, args.jobs.unwrap_or_else(batch::default_jobs));
    }
    let country = match args.country.as_deref().map(Country::parse) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(issue)) => {
            println!("country: invalid: {}", issue.detail);
            return ExitCode::from(1);
        }
    };
    let mut outcomes = Vec::new();
    if let Some(number) = &args.number {
        let (Some(country), Some(raw_type)) = (country, args.document_type.as_deref()) else {
            eprintln!("error: a document number needs --country and --type");
            return ExitCode::from(2);
        };
        let Some(t) = DocumentType::parse(raw_type) else {
            println!("documentType: invalid: not a known document type");
            return ExitCode::from(1);
        };
        outcomes.push(apply(
            "documentNumber",
            level,
            DocumentNumber::parse(country, t, number),
            |d| d.as_str().to_owned(),
        ));
    }
    if let Some(phone) = &args.phone {
        let Some(country) = country else {
            eprintln!("error: --phone needs --country");
            return ExitCode::from(2);
        };
        outcomes.push(apply(
            "phone",
            level,
            PhoneNumber::parse(phone, country),
            |p| p.as_str().to_owned(),
        ));
    }
    if let Some(email) = &args.email {
        outcomes.push(apply("email", level, EmailAddress::parse(email), |e| {
            e.as_str().to_owned()
        }));
    }
    if outcomes.is_empty() {
        eprintln!(
            "error: give a document number (with --country and --type), --phone (with --country) or --email"
        );
        return ExitCode::from(2);
    }
    let mut valid = true;
    for o in outcomes {
        match o.result {
            Ok((canonical, warnings)) => {
                println!("{}: valid: {canonical}", o.field);
                for w in warnings {
                    println!("{}: warning: {} ({})", o.field, w.detail, w.code);
                }
            }
            Err(issues) => {
                valid = false;
                for i in issues {
                    println!("{}: invalid: {} ({})", o.field, i.detail, i.code);
                }
            }
        }
    }
    if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
