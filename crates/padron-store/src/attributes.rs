//! The identity fields that are never filtered on, kept together as one JSON text column.
//! These serde types are the storage format, private to the store, separate from the wire types.

use padron_domain::{Address, BankAccount, IdentityFields, SecurityOptions};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Default)]
pub(crate) struct Attributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lastname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idv: Option<String>,
    #[serde(default)]
    security: StoredSecurity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<StoredAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bank_account: Option<StoredBankAccount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rules: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kyc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    watch_list: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    extended_data: Option<String>,
}

#[derive(Serialize, Deserialize, Default)]
struct StoredSecurity {
    two_factor_auth: bool,
    sign_trx: bool,
    sign_accounts_operations: bool,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredAddress {
    l1: Option<String>,
    l2: Option<String>,
    l3: Option<String>,
    street: Option<String>,
    street_number: Option<String>,
    optional: Option<String>,
    country: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredBankAccount {
    account_number: String,
    bank: String,
    currency: String,
    nickname: Option<String>,
    type_account: Option<String>,
    account_holder: Option<String>,
    account_holder_dni: Option<String>,
    country: Option<String>,
    external_id: Option<String>,
}

/// The parts of [`IdentityFields`] that live in the `attributes` column.
pub(crate) struct Unpacked {
    pub lastname: Option<String>,
    pub nickname: Option<String>,
    pub gender: Option<String>,
    pub idv: Option<String>,
    pub security: SecurityOptions,
    pub address: Option<Address>,
    pub bank_account: Option<BankAccount>,
    pub rules: Option<String>,
    pub kyc: Option<String>,
    pub watch_list: Option<String>,
    pub extended_data: Option<String>,
}

/// Serializes the attribute fields of `f`.
pub(crate) fn pack(f: &IdentityFields) -> String {
    let a = Attributes {
        lastname: f.lastname.clone(),
        nickname: f.nickname.clone(),
        gender: f.gender.clone(),
        idv: f.idv.clone(),
        security: StoredSecurity {
            two_factor_auth: f.security.two_factor_auth,
            sign_trx: f.security.sign_trx,
            sign_accounts_operations: f.security.sign_accounts_operations,
            scopes: f.security.scopes.clone(),
        },
        address: f.address.as_ref().map(|a| StoredAddress {
            l1: a.administrative_area_level1.clone(),
            l2: a.administrative_area_level2.clone(),
            l3: a.administrative_area_level3.clone(),
            street: a.street.clone(),
            street_number: a.street_number.clone(),
            optional: a.optional_address.clone(),
            country: a.country.clone(),
        }),
        bank_account: f.bank_account.as_ref().map(|b| StoredBankAccount {
            account_number: b.account_number.clone(),
            bank: b.bank.clone(),
            currency: b.currency.clone(),
            nickname: b.nickname.clone(),
            type_account: b.type_account.clone(),
            account_holder: b.account_holder.clone(),
            account_holder_dni: b.account_holder_dni.clone(),
            country: b.country.clone(),
            external_id: b.external_id.clone(),
        }),
        rules: f.rules.clone(),
        kyc: f.kyc.clone(),
        watch_list: f.watch_list.clone(),
        extended_data: f.extended_data.clone(),
    };
    // Serializing plain strings, bools and options cannot fail.
    serde_json::to_string(&a).unwrap_or_else(|_| "{}".to_owned())
}

/// Reads the attribute column back.
pub(crate) fn unpack(raw: &str) -> Result<Unpacked, serde_json::Error> {
    let a: Attributes = serde_json::from_str(raw)?;
    Ok(Unpacked {
        lastname: a.lastname,
        nickname: a.nickname,
        gender: a.gender,
        idv: a.idv,
        security: SecurityOptions {
            two_factor_auth: a.security.two_factor_auth,
            sign_trx: a.security.sign_trx,
            sign_accounts_operations: a.security.sign_accounts_operations,
            scopes: a.security.scopes,
        },
        address: a.address.map(|s| Address {
            administrative_area_level1: s.l1,
            administrative_area_level2: s.l2,
            administrative_area_level3: s.l3,
            street: s.street,
            street_number: s.street_number,
            optional_address: s.optional,
            country: s.country,
        }),
        bank_account: a.bank_account.map(|s| BankAccount {
            account_number: s.account_number,
            bank: s.bank,
            currency: s.currency,
            nickname: s.nickname,
            type_account: s.type_account,
            account_holder: s.account_holder,
            account_holder_dni: s.account_holder_dni,
            country: s.country,
            external_id: s.external_id,
        }),
        rules: a.rules,
        kyc: a.kyc,
        watch_list: a.watch_list,
        extended_data: a.extended_data,
    })
}
