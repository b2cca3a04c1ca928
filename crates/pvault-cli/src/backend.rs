//! Where operations run: in the agent when it holds the profile unlocked (no password, no KDF),
//! otherwise here, after unlocking with the password. Both take the same [`Op`] and answer with
//! the same [`Reply`]; this file knows no operation by name.

use anyhow::Result;
use pvault_core::agent::AgentClient;
use pvault_core::ops::{Op, Operations, Progress, Reply};
use pvault_core::{Error, Pvault, Vault};

use crate::cli::Global;
use crate::commands::unlock;
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
    let status = client.status().ok()?;
    status
        .iter()
        .any(|s| s.profile == profile)
        .then_some(client)
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

    pub fn profile(&self) -> String {
        match self {
            Backend::Agent { profile, .. } => profile.clone(),
            Backend::Local(v) => v.summary().name.clone(),
        }
    }

    /// Runs an operation. If it needs a re-authentication (a SECRET or TOP_SECRET record), asks
    /// for the password again and runs it once more.
    pub fn run(
        &mut self,
        pv: &Pvault,
        g: &Global,
        op: Op,
        progress: Progress<'_>,
    ) -> Result<Reply> {
        // Only reads can ask for the password again: only they are kept for a second try (a
        // put's data is not copied).
        let retry = op.is_read().then(|| op.clone());
        let (what, retry) = match (self.run_once(op, progress), retry) {
            (Ok(reply), _) => return Ok(reply),
            (Err(Needs::Reauth { what, .. }), Some(retry)) => (what, retry),
            (Err(needed), _) => return Err(needed.into_error()),
        };
        self.reauthenticate(pv, g, &what)?;
        self.run_once(retry, progress).map_err(Needs::into_error)
    }

    fn run_once(&mut self, op: Op, progress: Progress<'_>) -> Result<Reply, Needs> {
        match self {
            Backend::Agent { client, profile } => match client.run(profile, op) {
                Err(e) if e.kind == "reauth_required" => {
                    // "collection/id is SECRET: ..." -> "SECRET record collection/id"
                    let record = e.message.split(" is ").next().unwrap_or_default();
                    let level = e.classification.map(|c| c.to_string()).unwrap_or_default();
                    let what = format!("{level} record {record}");
                    Err(Needs::Reauth {
                        what,
                        error: e.into(),
                    })
                }
                other => other.map_err(|e| Needs::Nothing(e.into())),
            },
            Backend::Local(v) => match v.run(op, progress) {
                Err(e @ Error::ReauthRequired { classification, .. }) => {
                    let what = match &e {
                        Error::ReauthRequired { collection, id, .. } => {
                            format!("{classification} record {collection}/{id}")
                        }
                        _ => String::new(),
                    };
                    Err(Needs::Reauth {
                        what,
                        error: e.into(),
                    })
                }
                other => other.map_err(|e| Needs::Nothing(e.into())),
            },
        }
    }

    /// Asks for the password again (`what` says why) and re-authenticates: locally, or in the agent
    /// by answering its challenge (the KDF runs here, failures are counted, only a proof is sent).
    pub fn reauthenticate(&mut self, pv: &Pvault, g: &Global, what: &str) -> Result<()> {
        match self {
            Backend::Agent { client, profile } => {
                let creds = secrets::reauth_credentials(g, profile, what)?;
                let challenge = client.challenge(profile)?;
                let proof = pv.reauth_proof(profile, &creds, &challenge)?;
                client.reauthenticate(profile, &proof)?;
            }
            Backend::Local(v) => {
                let creds = secrets::reauth_credentials(g, &v.summary().name, what)?;
                pv.reauthenticate(v, &creds)?;
            }
        }
        Ok(())
    }
}

/// Why an operation did not run.
enum Needs {
    /// A re-authentication, for this record (`what`); `error` is what to say if it was given and
    /// did not help.
    Reauth { what: String, error: anyhow::Error },
    /// Nothing can help: the error.
    Nothing(anyhow::Error),
}

impl Needs {
    fn into_error(self) -> anyhow::Error {
        match self {
            Needs::Reauth { error, .. } => error,
            Needs::Nothing(e) => e,
        }
    }
}
