//! Padron's domain: the identity model and every validator.
//! No IO, no HTTP, no SQL, no JSON: values here are parsed once at the edge and stay canonical.

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
