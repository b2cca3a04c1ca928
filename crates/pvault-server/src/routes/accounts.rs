//! Accounts: registration, prelogin (what a device needs before it can sign anything), the account
//! as its devices see it, and its key bundle.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use pvault_proto::api::validate_username;
use pvault_proto::api::{AccountInfo, Bundle, Prelogin, PutBundle, Quota, RegisterAccount};
use pvault_proto::auth::parse_public_key;
use pvault_proto::{AccountId, parse_id16};

use super::input::{check_opaque, invalid, json, limited_username, new_device};
use crate::auth::{Raw, Signed, authenticate_account_key, now};
use crate::error::Error;
use crate::state::{AppState, Shared};
use crate::storage::{AccountRow, BundleRow, BundleUpdate, NewAccount, Storage};

fn account_info(row: AccountRow, quota: Quota) -> AccountInfo {
    AccountInfo {
        account_id: hex::encode(row.account_id),
        username: row.username,
        head_seq: row.head_seq,
        bundle_version: row.bundle_version,
        records: row.records,
        quota,
        devices: row.devices,
    }
}

/// The key bundle as answered.
pub(super) fn bundle(row: BundleRow) -> Bundle {
    Bundle {
        version: row.version,
        kdf: row.kdf,
        bundle: row.bundle,
    }
}

/// The account as answered ([`Error::UnknownAccount`] when there is none).
pub(super) async fn load_account<S: Storage>(
    state: &AppState<S>,
    account: AccountId,
) -> Result<AccountInfo, Error> {
    let row = state
        .storage
        .account(account)
        .await?
        .ok_or(Error::UnknownAccount)?;
    Ok(account_info(row, state.quota))
}

pub(super) async fn register<S: Storage>(
    State(state): Shared<S>,
    raw: Raw,
) -> Result<Json<AccountInfo>, Error> {
    let reg: RegisterAccount = json(&raw.body)?;
    validate_username(&reg.username).map_err(invalid("bad_username"))?;
    state
        .limiter
        .attempt(raw.ip, &reg.username, Instant::now())
        .map_err(|s| state.rate_limited(s))?;
    let account_id = parse_id16("account_id", &reg.account_id).map_err(invalid("bad_id"))?;
    let account_key =
        parse_public_key("account_key", &reg.account_key).map_err(invalid("bad_key"))?;
    let device = new_device(&reg.device)?;
    check_opaque("kdf", &reg.kdf)?;
    check_opaque("bundle", &reg.bundle)?;
    authenticate_account_key(&state, &raw, &account_key, device.device_id).await?;
    state
        .storage
        .create_account(NewAccount {
            account_id,
            username: reg.username,
            account_key: *account_key.as_bytes(),
            kdf: reg.kdf,
            bundle: reg.bundle,
            device,
            now: now(),
        })
        .await?;
    Ok(Json(load_account(&state, account_id).await?))
}

pub(super) async fn prelogin<S: Storage>(
    State(state): Shared<S>,
    raw: Raw,
) -> Result<Json<Prelogin>, Error> {
    let username = limited_username(&state, &raw)?;
    let (account_id, _, kdf) = state
        .storage
        .find_username(username)
        .await?
        .ok_or(Error::UnknownAccount)?;
    Ok(Json(Prelogin {
        account_id: hex::encode(account_id),
        kdf,
    }))
}

pub(super) async fn account<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Json<AccountInfo>, Error> {
    Ok(Json(load_account(&state, req.account).await?))
}

pub(super) async fn get_bundle<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Json<Bundle>, Error> {
    let row = state
        .storage
        .bundle(req.account)
        .await?
        .ok_or(Error::UnknownAccount)?;
    Ok(Json(bundle(row)))
}

pub(super) async fn put_bundle<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Json<Bundle>, Error> {
    let put: PutBundle = json(&req.raw.body)?;
    check_opaque("kdf", &put.kdf)?;
    check_opaque("bundle", &put.bundle)?;
    let account_key = put
        .account_key
        .as_deref()
        .map(|k| parse_public_key("account_key", k).map(|k| *k.as_bytes()))
        .transpose()
        .map_err(invalid("bad_key"))?;
    let row = state
        .storage
        .put_bundle(
            req.account,
            BundleUpdate {
                expected_version: put.expected_version,
                kdf: put.kdf,
                bundle: put.bundle,
                account_key,
            },
        )
        .await?;
    Ok(Json(bundle(row)))
}
