//! Signed checkpoints between devices: how the devices of a profile find out that the server shows
//! them different logs (a fork), or keeps from one what another pushed.
//!
//! Every device keeps a Merkle tree over the log it pulled (`tree.rs`) and, after each sync, signs
//! a C2SP `tlog-checkpoint` with its device key and publishes it through the server:
//!
//! ```text
//! pvault/v1/profile/<account hex>        origin
//! <size>                                  changes this device has pulled
//! <base64 RFC 6962 root>
//! seen <device hex> <size> <base64 root>  the newest checkpoint it accepted from each other device
//!
//! — pvault-device-<device hex> <base64 key id | Ed25519 signature>
//! ```
//!
//! The server cannot make one: the device keys it hands out come with a *certificate*, a note
//! signed by the profile's identity key (which only unlocked devices hold) binding the device id to
//! its key, so a key the server substitutes or a device it invents does not verify. Each sync, after
//! its first pull and before it pushes anything, checks every other device's newest checkpoint, and
//! every `seen` line in it, against this device's own tree: the same root at the same size; for a
//! smaller size a consistency proof (RFC 9162) that the server must produce and this device
//! verifies against its own root; a size beyond what the server lets this device pull is changes
//! withheld from it. Any failure stops the sync. `pvault sync verify` runs the same checks on
//! demand and reports every device; [`safety_code`] gives a short code over (size, root) that two
//! devices can compare out of band, which catches what no checkpoint can: a server that shows a
//! device nothing of the others at all.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use pvault_proto::api::{AccountInfo, Checkpoints, DeviceCertificate, PutCheckpoint, TreeProof};
use pvault_proto::auth::{SigningKey, VerifyingKey, parse_public_key};
use pvault_proto::checkpoint::{self, Checkpoint};
use pvault_proto::merkle::{self, Frontier};
use serde::Serialize;

use super::engine::Engine;
use super::transport::{Server, Signer};
use crate::error::{Error, Result};
use crate::store::{self, PeerCheckpoint, PeerDevice, PeersSeen, WriteTx};

use crate::vault::Vault;

/// The origin line of a profile's checkpoints.
fn origin(account: &[u8; 16]) -> String {
    format!("pvault/v1/profile/{}", hex::encode(account))
}

/// The key name a device signs its checkpoints under.
fn device_key_name(device: &str) -> String {
    format!("pvault-device-{device}")
}

/// The key name of the profile's identity, which signs device certificates.
fn profile_key_name(account: &[u8; 16]) -> String {
    format!("pvault-profile-{}", hex::encode(account))
}

fn certificate_text(account: &[u8; 16], device: &str, key: &VerifyingKey) -> String {
    format!(
        "pvault/v1/device-certificate\n{}\n{device}\n{}\n",
        hex::encode(account),
        B64.encode(key.as_bytes())
    )
}

/// This device's certificate: its id and key, signed by the profile's identity.
fn certificate(vault: &Vault, account: &[u8; 16], device: &str, key: &VerifyingKey) -> String {
    let text = certificate_text(account, device, key);
    let identity = vault.identity();
    let name = profile_key_name(account);
    let public = VerifyingKey::from_bytes(&identity.public().ed25519).expect("identity key");
    let mut sig = checkpoint::key_id(&name, &public).to_vec();
    sig.extend_from_slice(&identity.sign(text.as_bytes()));
    format!("{text}\n\u{2014} {name} {}\n", B64.encode(sig))
}

/// The key of `device` if the server's `certificate` for it is the profile's and names
/// `served_key`; otherwise what is wrong.
fn check_certificate(
    vault: &Vault,
    account: &[u8; 16],
    device: &str,
    served_key: &str,
    certificate: Option<&str>,
) -> std::result::Result<VerifyingKey, String> {
    let key = parse_public_key("device key", served_key)
        .map_err(|_| "its public key is malformed".to_string())?;
    let Some(cert) = certificate else {
        return Err("its key is not certified by the profile (a device the server added?)".into());
    };
    let identity = VerifyingKey::from_bytes(&vault.identity().public().ed25519)
        .map_err(|_| "the profile's identity key is malformed".to_string())?;
    let text = checkpoint::open_note(cert.as_bytes(), &profile_key_name(account), &identity)
        .map_err(|_| "its certificate is not signed by the profile".to_string())?;
    if text != certificate_text(account, device, &key) {
        return Err("its certificate is for another key (a substituted key)".into());
    }
    Ok(key)
}

/// Uploads this device's certificate (at setup and join, and at a sync until it is there).
pub(super) fn upload_certificate(
    vault: &Vault,
    server: &Server,
    signer: &Signer,
    account: &[u8; 16],
) -> Result<()> {
    let device = hex::encode(signer.device);
    let body = DeviceCertificate {
        certificate: certificate(vault, account, &device, &signer.key.verifying_key()),
    };
    let path = format!(
        "/v1/profiles/{}/devices/{device}/certificate",
        hex::encode(account)
    );
    let _: serde_json::Value = server.json("PUT", &path, Some(&body), Some(signer))?;
    store::set_meta_u64(vault.conn(), store::SYNC_CERTIFIED, 1)
}

/// How another device's view compares with this device's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    /// Its newest checkpoint is this device's tree, or a proven prefix of it.
    Consistent,
    /// It has published no checkpoint yet (it has not synced since it joined, or runs an older
    /// pvault).
    NoCheckpoint,
    /// Its key is not certified by the profile: its checkpoints are not used.
    Uncertified,
    /// Removed from the account.
    Removed,
    /// Its checkpoint and this device's tree cannot both be the server's log.
    Forked,
    /// It signed a log longer than the one the server lets this device pull.
    Withheld,
    /// Its key or certificate changed from the one this device saw certified.
    Substituted,
}

/// One other device, as [`verify`] found it.
#[derive(Clone, Debug, Serialize)]
pub struct PeerStatus {
    /// Its id.
    pub device_id: String,
    /// Its name, as the server lists it.
    pub name: String,
    /// Size of its newest checkpoint, if any.
    pub size: Option<u64>,
    /// What was found.
    pub state: PeerState,
    /// Why, for anything but consistent.
    pub detail: Option<String>,
}

/// What [`verify`] found.
#[derive(Clone, Debug, Serialize)]
pub struct TrustReport {
    /// Changes of the log this device has pulled.
    pub size: u64,
    /// Root of its Merkle tree over them (hex).
    pub root: String,
    /// The safety code of (size, root).
    pub safety_code: String,
    /// Every other device of the account.
    pub peers: Vec<PeerStatus>,
    /// One sentence per problem found (empty: the server showed this device the log the other
    /// devices signed).
    pub problems: Vec<String>,
}

/// A short code of a tree state that two devices compare out of band: twenty digits in groups of
/// five, from SHA-256 over the origin, the size and the root.
pub(super) fn code_of(account: &[u8; 16], size: u64, root: &[u8; 32]) -> String {
    let digest = pvault_crypto::sha256(
        format!(
            "pvault/v1/safety-code\n{}\n{size}\n{}\n",
            origin(account),
            hex::encode(root)
        )
        .as_bytes(),
    );
    let mut digits = String::new();
    for chunk in digest.chunks(5).take(4) {
        let n = chunk.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
        if !digits.is_empty() {
            digits.push(' ');
        }
        digits.push_str(&format!("{:05}", n % 100_000));
    }
    digits
}

/// Another device and its key (or why it has none that can be trusted).
struct Peer {
    id: String,
    name: String,
    revoked: bool,
    key: std::result::Result<VerifyingKey, String>,
}

/// A checkpoint claim to check: who says the log had `size` changes with `root`.
struct Claim {
    who: String,
    size: u64,
    root: [u8; 32],
}

impl Engine<'_> {
    /// The consistency of `claim` with this device's tree: `Ok(Err(problem))` when the claim
    /// cannot be the log this device pulled.
    fn check_claim(
        &self,
        tree: &Frontier,
        proofs: &HashMap<(u64, u64), TreeProof>,
        claim: &Claim,
    ) -> Result<std::result::Result<(), (PeerState, String)>> {
        let (n, root) = (tree.size(), tree.root());
        if claim.size > n {
            return Ok(Err((
                PeerState::Withheld,
                format!(
                    "{} signed a log of {} changes, but the server lets this device pull only {n}: \
                     the server withholds changes from this device, cut the log, or shows the two \
                     devices different logs (a fork)",
                    claim.who, claim.size
                ),
            )));
        }
        if claim.size == n {
            return Ok(if claim.root == root {
                Ok(())
            } else {
                Err((
                    PeerState::Forked,
                    format!(
                        "{} signed a different log of the same size ({n} changes): the server shows \
                         the two devices different logs (a fork)",
                        claim.who
                    ),
                ))
            });
        }
        let proof = match proofs.get(&(claim.size, n)) {
            Some(p) => p.clone(),
            None => self.proof(claim.size, n)?,
        };
        let hashes: Vec<[u8; 32]> = proof
            .proof
            .iter()
            .map(|h| hex32(h))
            .collect::<Option<_>>()
            .ok_or_else(|| Error::Protocol("proof: malformed hash".into()))?;
        Ok(
            match merkle::verify_consistency(claim.size, n, &claim.root, &root, &hashes) {
                Ok(()) => Ok(()),
                Err(_) => Err((
                    PeerState::Forked,
                    format!(
                        "{} signed a log of {} changes that is not the start of the log this device \
                         pulled (no consistency proof holds): the server shows the two devices \
                         different logs (a fork)",
                        claim.who, claim.size
                    ),
                )),
            },
        )
    }

    /// The server's consistency proof from size `from` to size `to`.
    fn proof(&self, from: u64, to: u64) -> Result<TreeProof> {
        let path = self.path(&format!("proof?from={from}&to={to}"));
        let proof: TreeProof = self
            .server
            .json("GET", &path, None::<&()>, Some(&self.signer))?;
        if proof.from != from || proof.to != to {
            return Err(Error::Protocol("proof: not the sizes asked for".into()));
        }
        Ok(proof)
    }

    /// The account's devices, their keys checked against their certificates.
    fn account(&self) -> Result<AccountInfo> {
        self.server.json(
            "GET",
            self.path("").trim_end_matches('/'),
            None::<&()>,
            Some(&self.signer),
        )
    }

    /// Checks the other devices' newest checkpoints against this device's tree. With
    /// `all_devices` (`sync verify`) every device the server lists is checked and reported;
    /// otherwise (a sync) only checkpoints not checked before, with the keys this device already
    /// saw certified, and the server's device list is read only for a device not seen before.
    pub(super) fn check_peers(&self, all_devices: bool) -> Result<(Vec<PeerStatus>, PeersSeen)> {
        let conn = self.vault.conn();
        let me = hex::encode(self.signer.device);
        let tree = self.tree()?;
        // The server adds the proof from each checkpoint's size to this device's: the last pull
        // page carried them; else (the tree grew since, or an older server) one request.
        let fetched;
        let published: &Checkpoints = match &self.published {
            Some((size, c)) if *size == tree.size() => c,
            _ => {
                let path = self.path(&format!("checkpoints?to={}", tree.size()));
                fetched = self
                    .server
                    .json("GET", &path, None::<&()>, Some(&self.signer))?;
                &fetched
            }
        };
        let proofs: HashMap<(u64, u64), TreeProof> = published
            .checkpoints
            .iter()
            .filter_map(|c| c.proof.clone())
            .map(|p| ((p.from, p.to), p))
            .collect();
        let known: HashMap<String, PeerCheckpoint> = store::peer_checkpoints(conn)?
            .into_iter()
            .map(|c| (c.device.clone(), c))
            .collect();
        let fresh: HashMap<&str, &str> = published
            .checkpoints
            .iter()
            .filter(|c| c.device_id != me)
            .filter(|c| known.get(&c.device_id).is_none_or(|k| k.note != c.note))
            .map(|c| (c.device_id.as_str(), c.note.as_str()))
            .collect();
        if fresh.is_empty() && !all_devices {
            return Ok((Vec::new(), PeersSeen::default()));
        }
        let mut seen = HashMap::new();
        for device in fresh.keys() {
            if let Some(d) = store::peer_device(conn, device)? {
                seen.insert(device.to_string(), d);
            }
        }
        let devices = if all_devices || seen.len() < fresh.len() {
            self.certified_devices(&me, &mut seen)?
        } else {
            fresh
                .keys()
                .map(|device| {
                    let key = VerifyingKey::from_bytes(&seen[*device].key)
                        .map_err(|_| "its stored key is malformed".to_string());
                    Peer {
                        id: device.to_string(),
                        name: device.to_string(),
                        revoked: false,
                        key,
                    }
                })
                .collect()
        };
        let notes: HashMap<&str, &str> = published
            .checkpoints
            .iter()
            .map(|c| (c.device_id.as_str(), c.note.as_str()))
            .collect();
        let mut peers = Vec::new();
        let mut accepted = Vec::new();
        for d in devices {
            let note = notes.get(d.id.as_str()).copied();
            let (status, checkpoint) = self.check_peer(&tree, &proofs, &d, note, &known)?;
            accepted.extend(checkpoint);
            peers.push(status);
        }
        let remember = PeersSeen {
            devices: seen.into_values().collect(),
            checkpoints: accepted,
        };
        Ok((peers, remember))
    }

    /// The account's other devices, each with its key if its certificate checks out (and is the
    /// key seen certified before); newly certified keys are added to `seen`.
    fn certified_devices(
        &self,
        me: &str,
        seen: &mut HashMap<String, PeerDevice>,
    ) -> Result<Vec<Peer>> {
        let conn = self.vault.conn();
        let account = self.account()?;
        let mut out = Vec::new();
        for d in account.devices.iter().filter(|d| d.device_id != me) {
            let remembered = match seen.get(&d.device_id) {
                Some(p) => Some(p.clone()),
                None => store::peer_device(conn, &d.device_id)?,
            };
            let checked = check_certificate(
                self.vault,
                &self.account,
                &d.device_id,
                &d.device_key,
                d.certificate.as_deref(),
            );
            let key = match (checked, remembered) {
                (Ok(key), Some(r)) if r.key != key.to_bytes() => Err(
                    "the server now gives it another key than the one this device saw certified \
                     (a substituted key)"
                        .to_string(),
                ),
                (Ok(key), _) => {
                    seen.insert(
                        d.device_id.clone(),
                        PeerDevice {
                            device: d.device_id.clone(),
                            key: key.to_bytes(),
                            certificate: d.certificate.clone().unwrap_or_default(),
                        },
                    );
                    Ok(key)
                }
                (Err(problem), Some(_)) => Err(format!(
                    "{problem}; its key was certified before (a substituted key)"
                )),
                (Err(problem), None) => Err(problem),
            };
            out.push(Peer {
                id: d.device_id.clone(),
                name: d.name.clone(),
                revoked: d.revoked,
                key,
            });
        }
        Ok(out)
    }

    /// One device's newest checkpoint (`note`) against this device's tree: its status, and the
    /// checkpoint to remember when it is consistent and newer than the one remembered.
    fn check_peer(
        &self,
        tree: &Frontier,
        proofs: &HashMap<(u64, u64), TreeProof>,
        d: &Peer,
        note: Option<&str>,
        known: &HashMap<String, PeerCheckpoint>,
    ) -> Result<(PeerStatus, Option<PeerCheckpoint>)> {
        let who = format!("device '{}' ({})", d.name, d.id);
        let mut status = PeerStatus {
            device_id: d.id.clone(),
            name: d.name.clone(),
            size: None,
            state: if d.revoked {
                PeerState::Removed
            } else {
                PeerState::Consistent
            },
            detail: None,
        };
        let key = match &d.key {
            Ok(key) => key,
            Err(problem) => {
                status.state = if problem.contains("substituted") {
                    PeerState::Substituted
                } else {
                    PeerState::Uncertified
                };
                status.detail = Some(format!("{who}: {problem}"));
                return Ok((status, None));
            }
        };
        let Some(note) = note else {
            if status.state == PeerState::Consistent {
                status.state = PeerState::NoCheckpoint;
            }
            return Ok((status, None));
        };
        let cp = match checkpoint::open(note.as_bytes(), &device_key_name(&d.id), key) {
            Ok(cp) if cp.origin == origin(&self.account) => cp,
            _ => {
                status.state = PeerState::Substituted;
                status.detail = Some(format!(
                    "{who}: its published checkpoint is not signed by its certified key, or is for \
                     another profile (a substituted key)"
                ));
                return Ok((status, None));
            }
        };
        status.size = Some(cp.size);
        let previous = known.get(&d.id);
        if previous.is_some_and(|p| p.note == note) {
            return Ok((status, None));
        }
        let mut claims = vec![Claim {
            who: who.clone(),
            size: cp.size,
            root: cp.root,
        }];
        // What it says it saw of the others. Not of this device (this device signed those from
        // its own tree, which only grows), nor a checkpoint already found consistent.
        let me = hex::encode(self.signer.device);
        claims.extend(
            seen_lines(&cp)
                .into_iter()
                .filter(|(device, size, root)| {
                    *device != me
                        && known
                            .get(device)
                            .is_none_or(|k| k.size != *size || k.root != *root)
                })
                .map(|(device, size, root)| Claim {
                    who: format!("{who}, about device {device}"),
                    size,
                    root,
                }),
        );
        for claim in &claims {
            if let Err((state, detail)) = self.check_claim(tree, proofs, claim)? {
                status.state = state;
                status.detail = Some(detail);
                return Ok((status, None));
            }
        }
        let newer = previous.is_none_or(|p| p.size <= cp.size);
        Ok((
            status,
            newer.then(|| PeerCheckpoint {
                device: d.id.clone(),
                size: cp.size,
                root: cp.root,
                note: note.to_string(),
                at: store::now_ms(),
            }),
        ))
    }

    /// Stops the sync on the first peer problem that the server caused (a fork, a withheld
    /// change, a substituted key), before anything is pushed.
    pub(super) fn check_peers_before_push(&mut self) -> Result<()> {
        let conn = self.vault.conn();
        if store::meta_u64(conn, store::SYNC_CERTIFIED)? == 0 {
            upload_certificate(self.vault, &self.server, &self.signer, &self.account)?;
        }
        let (peers, seen) = self.check_peers(false)?;
        self.peers_seen = seen;
        if let Some(p) = peers.iter().find(|p| {
            matches!(
                p.state,
                PeerState::Forked | PeerState::Withheld | PeerState::Substituted
            )
        }) {
            return Err(Error::SyncIntegrity(
                p.detail
                    .clone()
                    .unwrap_or_else(|| format!("device {}", p.device_id)),
            ));
        }
        Ok(())
    }

    /// Signs and publishes this device's checkpoint over the tree it reached, if it changed;
    /// returns its body, for the caller to remember in the transaction that ends the sync.
    pub(super) fn publish_checkpoint(&self) -> Result<Option<String>> {
        let conn = self.vault.conn();
        let tree = self.tree()?;
        // The newest consistent checkpoint of each other device: this sync's, else the stored one.
        let mut newest: std::collections::BTreeMap<String, (u64, [u8; 32])> =
            store::peer_checkpoints(conn)?
                .into_iter()
                .map(|p| (p.device, (p.size, p.root)))
                .collect();
        for p in &self.peers_seen.checkpoints {
            newest.insert(p.device.clone(), (p.size, p.root));
        }
        let extensions = newest
            .iter()
            .map(|(device, (size, root))| format!("seen {device} {size} {}", B64.encode(root)))
            .collect();
        let cp = Checkpoint {
            origin: origin(&self.account),
            size: tree.size(),
            root: tree.root(),
            extensions,
        };
        let body = cp.body();
        if store::meta_bytes(conn, store::SYNC_CHECKPOINT)?.as_deref() == Some(body.as_bytes()) {
            return Ok(None);
        }
        let key: &SigningKey = &self.signer.key;
        let note = cp
            .sign(&device_key_name(&hex::encode(self.signer.device)), key)
            .map_err(|e| Error::Protocol(format!("checkpoint: {e}")))?;
        let _: serde_json::Value = self.server.json(
            "PUT",
            &self.path("checkpoint"),
            Some(&PutCheckpoint { note }),
            Some(&self.signer),
        )?;
        Ok(Some(body))
    }
}

/// The `seen <device> <size> <root>` lines of a checkpoint (malformed ones are skipped: they are
/// the signer's own claims, and only well-formed ones can be checked).
fn seen_lines(cp: &Checkpoint) -> Vec<(String, u64, [u8; 32])> {
    cp.extensions
        .iter()
        .filter_map(|line| {
            let mut parts = line.split(' ');
            if parts.next() != Some("seen") {
                return None;
            }
            let device = parts.next()?.to_string();
            let size = parts.next()?.parse().ok()?;
            let root = <[u8; 32]>::try_from(B64.decode(parts.next()?).ok()?).ok()?;
            parts.next().is_none().then_some((device, size, root))
        })
        .collect()
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// `pvault sync verify`: pulls what the server has (checking it as a sync does, pushing nothing),
/// then checks every other device's newest checkpoint against this device's tree.
pub fn verify(vault: &Vault, policy: &pvault_model::Policy) -> Result<TrustReport> {
    let mut engine = Engine::open(vault, policy)?;
    engine.pull_only(&mut |_, _, _| {})?;
    let (peers, seen) = engine.check_peers(true)?;
    let tx = WriteTx::begin(vault.conn())?;
    seen.store(&tx)?;
    tx.commit()?;
    let tree = engine.tree()?;
    let problems = peers
        .iter()
        .filter(|p| {
            p.state != PeerState::Consistent
                && p.state != PeerState::NoCheckpoint
                && p.state != PeerState::Removed
        })
        .filter_map(|p| p.detail.clone())
        .collect();
    Ok(TrustReport {
        size: tree.size(),
        root: hex::encode(tree.root()),
        safety_code: code_of(&engine.account, tree.size(), &tree.root()),
        peers,
        problems,
    })
}

/// A safety code and what it is over.
#[derive(Clone, Debug, Serialize)]
pub struct SafetyCode {
    /// The log size it is for.
    pub size: u64,
    /// The tree root at that size (hex).
    pub root: String,
    /// Twenty digits in groups of five.
    pub code: String,
}

/// The safety code of this device's tree, or of its first `size` changes (the server's root for
/// that size, proven consistent with this device's tree), so two devices at different positions
/// can compare the same point.
pub fn safety_code(vault: &Vault, size: Option<u64>) -> Result<SafetyCode> {
    let policy = pvault_model::Policy::default();
    let engine = Engine::open(vault, &policy)?;
    let tree = engine.tree()?;
    let n = tree.size();
    let (size, root) = match size {
        None => (n, tree.root()),
        Some(k) if k == n => (n, tree.root()),
        Some(k) if k > n => {
            return Err(Error::NotPulledThatFar {
                pulled: n,
                asked: k,
            });
        }
        Some(k) => {
            let proof = engine.proof(k, n)?;
            let root_k = hex32(&proof.root_from)
                .ok_or_else(|| Error::Protocol("proof: malformed root".into()))?;
            let hashes: Vec<[u8; 32]> = proof
                .proof
                .iter()
                .map(|h| hex32(h))
                .collect::<Option<_>>()
                .ok_or_else(|| Error::Protocol("proof: malformed hash".into()))?;
            merkle::verify_consistency(k, n, &root_k, &tree.root(), &hashes).map_err(|_| {
                Error::SyncIntegrity(format!(
                    "the server's root for the first {k} changes is not consistent with this device's log"
                ))
            })?;
            (k, root_k)
        }
    };
    Ok(SafetyCode {
        size,
        root: hex::encode(root),
        code: code_of(&engine.account, size, &root),
    })
}
