//! The identity: a person (`USER`) or a company (`ORGANIZATION`) of one client environment.

use crate::{Country, DocumentNumber, DocumentType, EmailAddress, IdentityId, PhoneNumber, Status};

/// USER or ORGANIZATION; fixed at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityKind {
    /// A natural person.
    User,
    /// A company or other legal person.
    Organization,
}

impl IdentityKind {
    /// Parses the wire name (exact, upper case).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "USER" => Some(Self::User),
            "ORGANIZATION" => Some(Self::Organization),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "USER",
            Self::Organization => "ORGANIZATION",
        }
    }
}

/// Security settings of an identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityOptions {
    /// Two-factor authentication required.
    pub two_factor_auth: bool,
    /// Transactions must be signed.
    pub sign_trx: bool,
    /// Account operations must be signed.
    pub sign_accounts_operations: bool,
    /// `accessControl.scopes`: opaque scope names.
    pub scopes: Vec<String>,
}

/// A postal address; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// State or region.
    pub administrative_area_level1: Option<String>,
    /// Province or county.
    pub administrative_area_level2: Option<String>,
    /// City or district.
    pub administrative_area_level3: Option<String>,
    /// Street name.
    pub street: Option<String>,
    /// Street number.
    pub street_number: Option<String>,
    /// Apartment, floor, and the like.
    pub optional_address: Option<String>,
    /// Country of the address, free text as sent.
    pub country: Option<String>,
}

/// A bank account; `account_number`, `bank` and `currency` are required.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BankAccount {
    /// Account number as given.
    pub account_number: String,
    /// Bank name or code.
    pub bank: String,
    /// ISO 4217 currency code, upper case.
    pub currency: String,
    /// Display name of the account.
    pub nickname: Option<String>,
    /// Account type (checking, savings, …).
    pub type_account: Option<String>,
    /// Name of the holder.
    pub account_holder: Option<String>,
    /// Document number of the holder.
    pub account_holder_dni: Option<String>,
    /// Country of the account.
    pub country: Option<String>,
    /// The platform's own reference.
    pub external_id: Option<String>,
}

/// Everything about an identity that a client sets (created and patched as a whole).
///
/// Free-form JSON parts (`rules`, `kyc`, `watch_list`, `extended_data`) are kept as serialized
/// JSON text: the domain never looks inside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityFields {
    /// Given name or company name.
    pub name: String,
    /// Family name.
    pub lastname: Option<String>,
    /// Short name.
    pub nickname: Option<String>,
    /// Gender as given.
    pub gender: Option<String>,
    /// The platform's own id for this identity.
    pub external_id: Option<String>,
    /// Identity-verification reference.
    pub idv: Option<String>,
    /// Contact email.
    pub email: Option<EmailAddress>,
    /// Contact phone.
    pub phone: Option<PhoneNumber>,
    /// Country of the identity and of its document.
    pub country: Country,
    /// Kind of national document.
    pub document_type: DocumentType,
    /// Canonical document number.
    pub document_number: DocumentNumber,
    /// Onboarding status.
    pub status: Status,
    /// Security settings.
    pub security: SecurityOptions,
    /// Postal address.
    pub address: Option<Address>,
    /// Bank account.
    pub bank_account: Option<BankAccount>,
    /// Free JSON object (serialized).
    pub rules: Option<String>,
    /// Free JSON object (serialized).
    pub kyc: Option<String>,
    /// Free JSON object (serialized).
    pub watch_list: Option<String>,
    /// Free JSON array (serialized).
    pub extended_data: Option<String>,
}

/// A directly linked child as its parent shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSummary {
    /// The child's id.
    pub id: IdentityId,
    /// The child's name.
    pub name: String,
    /// The child's email.
    pub email: Option<EmailAddress>,
}

/// A stored identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Server-made id.
    pub id: IdentityId,
    /// USER or ORGANIZATION.
    pub kind: IdentityKind,
    /// Client-set fields.
    pub fields: IdentityFields,
    /// Direct children, in the order they were linked.
    pub children: Vec<ChildSummary>,
    /// Creation time, microseconds since the Unix epoch (UTC).
    pub created_at: i64,
    /// Last change, microseconds since the Unix epoch (UTC).
    pub updated_at: i64,
    /// 1 at creation, +1 on every change.
    pub version: i64,
}
