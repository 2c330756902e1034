//! Validation levels and the result of a check: the value, what strict mode adds, and notes
//! that never block.

use std::borrow::Cow;

/// How hard a client environment validates (spec §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidationLevel {
    /// Shape only; strict failures are reported as warnings.
    Structural,
    /// Shape plus check digits, embedded data and phone metadata.
    Strict,
}

impl ValidationLevel {
    /// Parses `structural` or `strict` (case-insensitive).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "structural" => Some(Self::Structural),
            "strict" => Some(Self::Strict),
            _ => None,
        }
    }

    /// The lower-case name used in configuration and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Structural => "structural",
            Self::Strict => "strict",
        }
    }
}

/// One problem with one value. `code` is a stable camelCase word clients can switch on
/// (`invalidFormat`, `checkDigit`, `countryMismatch`, …); `detail` is for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable explanation; never contains secrets. Most details are fixed texts, so they
    /// are borrowed, not allocated per issue.
    pub detail: Cow<'static, str>,
}

impl Issue {
    /// Builds an issue.
    pub fn new(code: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.detail, self.code)
    }
}

/// A value that passed the structural check.
///
/// `strict` lists what strict validation rejects (errors in strict mode, warnings in structural
/// mode); `warnings` lists findings that never block at any level, such as a Mexican RFC whose
/// check digit the tax authority itself got wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked<T> {
    /// The canonical value.
    pub value: T,
    /// Failures of the strict level.
    pub strict: Vec<Issue>,
    /// Non-blocking findings at every level.
    pub warnings: Vec<Issue>,
}

impl<T> Checked<T> {
    /// A value with no findings.
    pub fn clean(value: T) -> Self {
        Self {
            value,
            strict: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Maps the value, keeping the findings.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Checked<U> {
        Checked {
            value: f(self.value),
            strict: self.strict,
            warnings: self.warnings,
        }
    }

    /// Applies a level: in strict mode the strict failures become errors; otherwise they join the
    /// warnings. Returns the value and the warnings to report.
    pub fn at_level(self, level: ValidationLevel) -> Result<(T, Vec<Issue>), Vec<Issue>> {
        match level {
            ValidationLevel::Strict if !self.strict.is_empty() => Err(self.strict),
            ValidationLevel::Strict => Ok((self.value, self.warnings)),
            ValidationLevel::Structural => {
                let mut warnings = self.strict;
                warnings.extend(self.warnings);
                Ok((self.value, warnings))
            }
        }
    }
}
