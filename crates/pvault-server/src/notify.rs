//! Real-time announcements: "account X's log reached seq N", fanned out to the WebSocket connections
//! of this instance, and with PostgreSQL to every other instance on the same database.
//!
//! In-process, each account with a listening connection has a `watch` channel holding the highest
//! head announced; announcing a lower or equal number is a no-op, so the same push arriving twice
//! (directly and back through `NOTIFY`) is sent once, and a slow connection only ever gets the
//! latest head. Across instances a push sends `NOTIFY pvault_announce, '<account hex>:<seq>'` in its
//! transaction (the channel and the payload's form are the PostgreSQL backend's, which sends them),
//! and [`pg_listen`] forwards what it hears into the local channels.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pvault_proto::AccountId;
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::storage::Storage;
use crate::storage::postgres::{PG_CHANNEL, parse_payload};

/// The local fan-out of head announcements.
#[derive(Default)]
pub(crate) struct Announcer {
    channels: Mutex<HashMap<AccountId, watch::Sender<u64>>>,
}

impl Announcer {
    /// Listens to an account's announcements.
    pub fn subscribe(&self, account: AccountId) -> watch::Receiver<u64> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels
            .entry(account)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Announces that an account's log reached `seq` (if anyone here listens).
    pub fn announce(&self, account: &AccountId, seq: u64) {
        let channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = channels.get(account) {
            tx.send_if_modified(|v| {
                let newer = seq > *v;
                if newer {
                    *v = seq;
                }
                newer
            });
        }
    }

    /// Drops the channel of an account nobody listens to any more.
    pub fn release(&self, account: &AccountId) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if channels
            .get(account)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            channels.remove(account);
        }
    }

    /// The accounts someone listens to here.
    fn accounts(&self) -> Vec<AccountId> {
        let channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels.keys().copied().collect()
    }
}

/// Connects to PostgreSQL and listens on [`PG_CHANNEL`].
pub(crate) async fn pg_listener(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(PG_CHANNEL).await?;
    Ok(listener)
}

/// Forwards the notifications of every instance (this one's included) to local listeners, until the
/// task is dropped. A lost connection is reopened; since notifications sent meanwhile are lost, every
/// account listened to here is then re-announced from the database.
pub(crate) async fn pg_listen<S: Storage>(
    pool: PgPool,
    mut listener: PgListener,
    storage: S,
    announcer: Arc<Announcer>,
    metrics: Arc<Metrics>,
) {
    loop {
        // Until the connection drops (`Ok(None)`) or fails.
        while let Ok(Some(n)) = listener.try_recv().await {
            metrics.notification();
            if let Some((account, seq)) = parse_payload(n.payload()) {
                announcer.announce(&account, seq);
            }
        }
        listener = loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Ok(l) = pg_listener(&pool).await {
                break l;
            }
        };
        resync(&storage, &announcer).await;
    }
}

async fn resync<S: Storage>(storage: &S, announcer: &Announcer) {
    for account in announcer.accounts() {
        if let Ok(Some(seq)) = storage.head_seq(account).await {
            announcer.announce(&account, seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_newer_heads_are_announced() {
        let a = Announcer::default();
        let mut rx = a.subscribe([1; 16]);
        a.announce(&[1; 16], 5);
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), 5);
        a.announce(&[1; 16], 5);
        a.announce(&[1; 16], 3);
        a.announce(&[2; 16], 9);
        assert!(!rx.has_changed().unwrap());
        drop(rx);
        a.release(&[1; 16]);
        assert!(a.accounts().is_empty());
    }
}
