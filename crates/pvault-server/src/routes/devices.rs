//! Devices: a new device joins an account (signed with the account key), a device is revoked, a
//! device publishes its certificate (opaque to the server; only the device itself may set it).

use axum::Json;
use axum::extract::State;
use pvault_proto::DeviceId;
use pvault_proto::api::{
    AccountInfo, DeviceCertificate, JoinResponse, MAX_CERTIFICATE_BYTES, NewDevice,
};
use pvault_proto::auth::VerifyingKey;

use super::accounts::{bundle, load_account};
use super::input::{check_size, json, limited_username, new_device};
use crate::auth::{Raw, Signed, authenticate_account_key, now};
use crate::error::Error;
use crate::state::Shared;
use crate::storage::Storage;

pub(super) async fn join<S: Storage>(
    State(state): Shared<S>,
    raw: Raw,
) -> Result<Json<JoinResponse>, Error> {
    let username = limited_username(&state, &raw)?;
    let device = new_device(&json::<NewDevice>(&raw.body)?)?;
    let (account_id, key, _) = state
        .storage
        .find_username(username)
        .await?
        .ok_or(Error::UnknownAccount)?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| {
        Error::Database(sqlx::Error::Decode(
            "stored account key is not a valid key".into(),
        ))
    })?;
    authenticate_account_key(&state, &raw, &key, device.device_id).await?;
    state.storage.add_device(account_id, device, now()).await?;
    let account = load_account(&state, account_id).await?;
    let bundle_row = state
        .storage
        .bundle(account_id)
        .await?
        .ok_or(Error::UnknownAccount)?;
    Ok(Json(JoinResponse {
        account,
        bundle: bundle(bundle_row),
    }))
}

pub(super) async fn revoke<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Json<AccountInfo>, Error> {
    let device: DeviceId = req.raw.id_param("device")?;
    state.storage.revoke_device(req.account, device).await?;
    Ok(Json(load_account(&state, req.account).await?))
}

pub(super) async fn put_certificate<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Json<AccountInfo>, Error> {
    let device: DeviceId = req.raw.id_param("device")?;
    if device != req.device {
        return Err(Error::NotThisDevice);
    }
    let put: DeviceCertificate = json(&req.raw.body)?;
    check_size(
        "a device certificate",
        &put.certificate,
        MAX_CERTIFICATE_BYTES,
        "certificate_too_large",
    )?;
    state
        .storage
        .set_certificate(req.account, device, Some(put.certificate))
        .await?;
    Ok(Json(load_account(&state, req.account).await?))
}
