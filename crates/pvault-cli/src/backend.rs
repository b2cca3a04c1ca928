//! Where record commands run: in the agent when it holds the profile unlocked (no password, no KDF),
//! otherwise here, after unlocking with the password. Both answer with the same types.

use anyhow::{Context, Result};
use pvault_core::agent::{AgentClient, Request};
use pvault_core::{Listing, NewRecord, Pvault, Record, Vault, VerifyReport, Written};
use serde::de::DeserializeOwned;

use crate::cli::Global;
use crate::commands::{unlock, with_reauth};
use crate::secrets;

pub enum Backend {
    Agent {
        client: AgentClient,
        profile: String,
    },
    Local(Box<Vault>),
}

/// Whether the agent of this home holds `profile` unlocked.
pub fn agent_for(pv: &Pvault, profile: &str) -> Option<AgentClient> {
    let mut client = AgentClient::connect(pv.home().root())?;
    let status = client.call(&Request::Status).ok()?;
    let unlocked = status.as_array()?.iter().any(|s| s["profile"] == profile);
    unlocked.then_some(client)
}

impl Backend {
    /// The agent if it has the selected profile unlocked; else a local unlock with the password.
    pub fn open(pv: &Pvault, g: &Global) -> Result<Backend> {
        let profile = pv.resolve(g.profile.as_deref())?.name;
        match agent_for(pv, &profile) {
            Some(client) => Ok(Backend::Agent { client, profile }),
            None => Ok(Backend::Local(Box::new(unlock(pv, g)?))),
        }
    }

    fn call<T: DeserializeOwned>(client: &mut AgentClient, req: &Request) -> Result<T> {
        let value = client.call(req)?;
        serde_json::from_value(value).context("unexpected answer from the agent")
    }

    /// Sends a request to the agent; if the agent asks for a re-authentication, proves the password
    /// (KDF here, challenge–response there) and sends it once more.
    fn call_reauth<T: DeserializeOwned>(
        pv: &Pvault,
        g: &Global,
        client: &mut AgentClient,
        profile: &str,
        req: &Request,
    ) -> Result<T> {
        match client.call(req) {
            Err(e) if e.kind == "reauth_required" => {
                // "collection/id is SECRET: ..." -> "SECRET record collection/id"
                let record = e.message.split(" is ").next().unwrap_or_default();
                let level = e.classification.map(|c| c.to_string()).unwrap_or_default();
                reauth_in_agent(pv, g, client, profile, &format!("{level} record {record}"))?;
                Self::call(client, req)
            }
            other => serde_json::from_value(other?).context("unexpected answer from the agent"),
        }
    }

    pub fn profile(&self) -> String {
        match self {
            Backend::Agent { profile, .. } => profile.clone(),
            Backend::Local(v) => v.summary().name.clone(),
        }
    }

    pub fn put(&mut self, record: NewRecord) -> Result<Written> {
        match self {
            Backend::Agent { client, profile } => Self::call(
                client,
                &Request::Put {
                    profile: profile.clone(),
                    collection: record.collection,
                    id: record.id,
                    classification: record.classification,
                    data: record.data,
                },
            ),
            Backend::Local(v) => Ok(v.put(record)?),
        }
    }

    pub fn get(&mut self, pv: &Pvault, g: &Global, collection: &str, id: &str) -> Result<Record> {
        match self {
            Backend::Agent { client, profile } => {
                let req = Request::Get {
                    profile: profile.clone(),
                    collection: collection.into(),
                    id: id.into(),
                };
                Self::call_reauth(pv, g, client, &profile.clone(), &req)
            }
            Backend::Local(v) => with_reauth(pv, v, g, |v| v.get(collection, id)),
        }
    }

    pub fn history(
        &mut self,
        pv: &Pvault,
        g: &Global,
        collection: &str,
        id: &str,
    ) -> Result<Vec<Record>> {
        match self {
            Backend::Agent { client, profile } => {
                let req = Request::History {
                    profile: profile.clone(),
                    collection: collection.into(),
                    id: id.into(),
                };
                Self::call_reauth(pv, g, client, &profile.clone(), &req)
            }
            Backend::Local(v) => with_reauth(pv, v, g, |v| v.history(collection, id)),
        }
    }

    /// Lists; with `reveal`, asks for the password again first so SECRET records are shown.
    pub fn list(
        &mut self,
        pv: &Pvault,
        g: &Global,
        collection: &str,
        filter: Option<(String, String)>,
        reveal: bool,
    ) -> Result<Listing> {
        match self {
            Backend::Agent { client, profile } => {
                if reveal {
                    reauth_in_agent(pv, g, client, &profile.clone(), "showing SECRET records")?;
                }
                Self::call(
                    client,
                    &Request::List {
                        profile: profile.clone(),
                        collection: collection.into(),
                        filter,
                    },
                )
            }
            Backend::Local(v) => {
                if reveal {
                    let creds = secrets::reauth_credentials(
                        g,
                        &v.summary().name,
                        "showing SECRET records",
                    )?;
                    pv.reauthenticate(v, &creds)?;
                }
                Ok(v.list(
                    collection,
                    filter.as_ref().map(|(k, f)| (k.as_str(), f.as_str())),
                )?)
            }
        }
    }

    pub fn remove(&mut self, collection: &str, id: &str) -> Result<Written> {
        match self {
            Backend::Agent { client, profile } => Self::call(
                client,
                &Request::Remove {
                    profile: profile.clone(),
                    collection: collection.into(),
                    id: id.into(),
                },
            ),
            Backend::Local(v) => Ok(v.remove(collection, id)?),
        }
    }

    pub fn verify(&mut self, progress: &mut dyn FnMut(u64, u64)) -> Result<VerifyReport> {
        match self {
            Backend::Agent { client, profile } => Self::call(
                client,
                &Request::Verify {
                    profile: profile.clone(),
                },
            ),
            Backend::Local(v) => Ok(v.verify(progress)?),
        }
    }
}

/// Re-authenticates `profile` in the agent: the password is checked here (KDF, failures counted) and
/// only a proof answering the agent's challenge is sent.
fn reauth_in_agent(
    pv: &Pvault,
    g: &Global,
    client: &mut AgentClient,
    profile: &str,
    what: &str,
) -> Result<()> {
    let creds = secrets::reauth_credentials(g, profile, what)?;
    let challenge = client.call(&Request::Challenge {
        profile: profile.into(),
    })?;
    let mut c = [0u8; 32];
    hex::decode_to_slice(challenge["challenge"].as_str().unwrap_or_default(), &mut c)
        .context("unexpected challenge from the agent")?;
    let proof = pv.reauth_proof(profile, &creds, &c)?;
    client.call(&Request::Reauth {
        profile: profile.into(),
        proof: hex::encode(proof),
    })?;
    Ok(())
}
