//! Padron's domain: the identity model and every validator.
//! No IO, no HTTP, no SQL, no JSON: values here are parsed once at the edge and stay canonical.

pub mod address;
pub mod country;
pub mod currency;
pub mod document;
pub mod email;
pub mod id;
pub mod identity;
pub mod level;
pub mod phone;
pub mod status;

pub use country::Country;
pub use currency::is_currency;
pub use document::{
    DocumentNumber, DocumentType, DocumentTypeInfo, check_document_type, document_countries,
    document_types,
};
pub use email::EmailAddress;
pub use id::IdentityId;
pub use identity::{
    Address, BankAccount, ChildSummary, Identity, IdentityFields, IdentityKind, SecurityOptions,
};
pub use level::{Checked, Issue, ValidationLevel};
pub use phone::PhoneNumber;
pub use status::Status;

/// `str::trim`, without decoding characters in the usual case of a value that starts and ends
/// with a visible ASCII character: every value is trimmed (spec §6.1), once per field of every
/// request and every batch line.
pub fn trim(s: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(u8::is_ascii_graphic);
    let bytes = s.as_bytes();
    if visible(bytes.first()) && visible(bytes.last()) {
        s
    } else {
        s.trim()
    }
}
