//! The WebSocket of a device: the account's head right away, then every newer head, until the
//! client leaves, the device is revoked or the server stops.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use pvault_proto::api::Announce;
use pvault_proto::{AccountId, DeviceId};
use tokio::sync::watch;

use crate::auth::Signed;
use crate::error::Error;
use crate::state::{AppState, Shared};
use crate::storage::Storage;

/// How often an open WebSocket checks that its device is still allowed.
const WS_RECHECK: Duration = Duration::from_secs(30);

pub(super) async fn ws<S: Storage>(
    State(state): Shared<S>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    req: Signed,
) -> Result<Response, Error> {
    let upgrade = upgrade.map_err(|e| Error::bad_request("not_websocket", e.body_text()))?;
    let (account, device) = (req.account, req.device);
    Ok(upgrade.on_upgrade(move |socket| announce(state, account, device, socket)))
}

/// Serves one WebSocket, from its opening to its closing.
async fn announce<S: Storage>(
    state: Arc<AppState<S>>,
    account: AccountId,
    device: DeviceId,
    mut socket: WebSocket,
) {
    state.metrics.ws_opened();
    // Subscribe before reading the head, so no push falls in between.
    let mut heads = state.announcer.subscribe(account);
    if let Ok(Some(head)) = state.storage.head_seq(account).await {
        serve_socket(&state, account, device, &mut socket, &mut heads, head).await;
    }
    let _ = socket.send(Message::Close(None)).await;
    drop(heads);
    state.announcer.release(&account);
    state.metrics.ws_closed();
}

async fn serve_socket<S: Storage>(
    state: &AppState<S>,
    account: AccountId,
    device: DeviceId,
    socket: &mut WebSocket,
    heads: &mut watch::Receiver<u64>,
    head: u64,
) {
    let send = |seq: u64| {
        state.metrics.announcement();
        let text = serde_json::to_string(&Announce { seq }).unwrap_or_default();
        Message::Text(text.into())
    };
    if socket.send(send(head)).await.is_err() {
        return;
    }
    let mut sent = head;
    let mut shutdown = state.shutdown.clone();
    let mut recheck = tokio::time::interval(WS_RECHECK);
    recheck.tick().await;
    loop {
        tokio::select! {
            changed = heads.changed() => {
                if changed.is_err() {
                    return;
                }
                let seq = *heads.borrow_and_update();
                if seq > sent {
                    if socket.send(send(seq)).await.is_err() {
                        return;
                    }
                    sent = seq;
                }
            }
            message = socket.recv() => match message {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                // Pings are answered by the socket itself; anything else from the client is ignored.
                Some(Ok(_)) => {}
            },
            _ = shutdown.changed() => return,
            _ = recheck.tick() => {
                let allowed = state.storage.device_keys(device).await.is_ok_and(|keys| {
                    keys.iter().any(|k| k.account_id == account && !k.revoked)
                });
                if !allowed {
                    return;
                }
            }
        }
    }
}
