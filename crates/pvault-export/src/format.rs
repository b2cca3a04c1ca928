//! What is inside an export (`docs/export.md`): JSON Lines, one object per line, each ending in
//! `\n`. The first line is the [`Header`]; then the [`Entry`] lines; the last line is the manifest:
//! `{"type":"manifest","manifest":"<the Manifest as a JSON string>","signature":"<hex>"}`, where
//! the signature is Ed25519 by the profile identity named in the header over
//! `"pvault/v1/export-manifest\n"` followed by the manifest string's bytes, and the manifest holds
//! the SHA-256 of every byte before its line and the count of each kind of entry.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};

use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The format version this crate writes, and the newest it reads.
pub const FORMAT_VERSION: u64 = 1;

/// What the manifest's signature covers, before the manifest itself.
pub const SIGNATURE_CONTEXT: &[u8] = b"pvault/v1/export-manifest\n";

/// The longest line read (a record is at most a few MiB; the audit log's line is the largest).
pub const MAX_LINE: usize = 256 << 20;

/// The first line: which profile this is, from where and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The format version ([`FORMAT_VERSION`]).
    pub pvault_export: u64,
    pub profile: ProfileInfo,
    /// When the export was made (RFC 3339).
    pub exported_at: String,
    /// The device that made it.
    pub device: String,
    /// The program that wrote it, e.g. `pvault 0.1.0`.
    pub software: String,
}

/// The exported profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileInfo {
    /// Profile id (hex).
    pub id: String,
    pub name: String,
    pub display_name: String,
    /// Security level (`standard`, `high`, `military`).
    pub security: String,
    /// The profile's Ed25519 identity key (hex), which signs the manifest.
    pub identity: String,
}

impl Header {
    /// A header for the profile `id` (see the fields for the rest).
    pub fn new(
        id: &str,
        name: &str,
        display_name: &str,
        security: &str,
        identity: &[u8; 32],
        device: &str,
        exported_at: &str,
    ) -> Header {
        Header {
            pvault_export: FORMAT_VERSION,
            profile: ProfileInfo {
                id: id.into(),
                name: name.into(),
                display_name: display_name.into(),
                security: security.into(),
                identity: hex::encode(identity),
            },
            exported_at: exported_at.into(),
            device: device.into(),
            software: format!("pvault {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// One record version, as a person reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordEntry {
    pub collection: String,
    pub id: String,
    /// `PUBLIC`, `INTERNAL`, `CONFIDENTIAL`, `SECRET` or `TOP_SECRET`.
    pub classification: String,
    /// Which write of the record this is, from 1.
    pub version: u64,
    /// The hybrid logical clock of the write.
    pub revision: u64,
    /// The device that wrote it.
    pub device: String,
    /// First and this write (RFC 3339).
    pub created: String,
    pub updated: String,
    /// The record's fields.
    pub data: Value,
    /// For append-only records (breakthroughs): the signed provenance of this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Value>,
}

/// A line between the header and the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    /// A record's current version.
    Record(RecordEntry),
    /// An earlier version of an append-only record, oldest first, before the record's own line.
    Version(RecordEntry),
    /// The profile's settings (auto-lock, re-authentication window, sync policy, ...).
    Settings { settings: Value },
    /// The profile's audit log, as `pvault audit export` writes it (checkable on its own with
    /// `pvault audit check-export`).
    Audit { log: Value },
}

impl Entry {
    /// The name it is counted under in the manifest: `record:<collection>`, `version`,
    /// `settings`, `audit`.
    pub fn kind(&self) -> String {
        match self {
            Entry::Record(r) => format!("record:{}", r.collection),
            Entry::Version(_) => "version".into(),
            Entry::Settings { .. } => "settings".into(),
            Entry::Audit { .. } => "audit".into(),
        }
    }
}

/// The signed summary on the last line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u64,
    /// The profile id and identity, as in the header.
    pub profile: String,
    pub identity: String,
    /// Entry lines (the header not counted).
    pub entries: u64,
    /// Entries by [`Entry::kind`].
    pub counts: BTreeMap<String, u64>,
    /// SHA-256 (hex) of every byte before the manifest's line.
    pub sha256: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestLine {
    #[serde(rename = "type")]
    kind: String,
    manifest: String,
    signature: String,
}

/// Writes an export's contents: the header at once, entries one by one, the manifest at the end.
pub struct Writer<W: Write> {
    out: W,
    hash: Sha256,
    header: Header,
    counts: BTreeMap<String, u64>,
    entries: u64,
}

impl<W: Write> Writer<W> {
    /// Starts the contents with `header`.
    pub fn new(out: W, header: &Header) -> Result<Writer<W>> {
        let mut w = Writer {
            out,
            hash: Sha256::new(),
            header: header.clone(),
            counts: BTreeMap::new(),
            entries: 0,
        };
        w.line(&serde_json::to_vec(header).map_err(json)?)?;
        Ok(w)
    }

    fn line(&mut self, bytes: &[u8]) -> Result<()> {
        debug_assert!(!bytes.contains(&b'\n'));
        self.hash.update(bytes);
        self.hash.update(b"\n");
        self.out.write_all(bytes)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    /// Writes one entry.
    pub fn entry(&mut self, entry: &Entry) -> Result<()> {
        self.line(&serde_json::to_vec(entry).map_err(json)?)?;
        *self.counts.entry(entry.kind()).or_default() += 1;
        self.entries += 1;
        Ok(())
    }

    /// Signs the manifest with `sign` (Ed25519 by the profile identity named in the header; the
    /// signature is checked against it) and writes it; returns the output and the manifest.
    pub fn finish(mut self, sign: impl FnOnce(&[u8]) -> [u8; 64]) -> Result<(W, Manifest)> {
        let manifest = Manifest {
            format: FORMAT_VERSION,
            profile: self.header.profile.id.clone(),
            identity: self.header.profile.identity.clone(),
            entries: self.entries,
            counts: std::mem::take(&mut self.counts),
            sha256: hex::encode(self.hash.clone().finalize()),
        };
        let text = serde_json::to_string(&manifest).map_err(json)?;
        let mut signed = SIGNATURE_CONTEXT.to_vec();
        signed.extend_from_slice(text.as_bytes());
        let line = ManifestLine {
            kind: "manifest".into(),
            manifest: text,
            signature: hex::encode(sign(&signed)),
        };
        check_signature(&self.header, &line)
            .map_err(|_| Error::Format("the signing key is not the header's identity".into()))?;
        let bytes = serde_json::to_vec(&line).map_err(json)?;
        self.out.write_all(&bytes)?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok((self.out, manifest))
    }
}

fn json(e: serde_json::Error) -> Error {
    Error::Format(e.to_string())
}

/// An export whose every line, hash and signature checked out.
#[derive(Clone, Debug)]
pub struct Verified {
    pub header: Header,
    pub manifest: Manifest,
}

/// Reads an export's contents, handing each entry to `each` in order, and checks it: the header
/// (a newer format version is refused before anything else), every line (strict: an unknown
/// field or kind is an error), the manifest last and nothing after it, the counts, the SHA-256
/// and the signature. `each` sees entries before the end is checked: a caller that writes them
/// must not keep what it wrote unless this returns `Ok` (import writes into a profile that is
/// registered only then).
pub fn verify<R: Read>(input: R, mut each: impl FnMut(Entry) -> Result<()>) -> Result<Verified> {
    let mut input = BufReader::with_capacity(1 << 16, input);
    let mut hash = Sha256::new();
    let mut buf = Vec::new();
    let mut number = 0u64;
    let header_line = next_line(&mut input, &mut buf, &mut number)?
        .ok_or_else(|| Error::Format("the file is empty".into()))?;
    let header = parse_header(&header_line)?;
    hash.update(&header_line);
    hash.update(b"\n");
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut entries = 0u64;
    let manifest_line = loop {
        let line = next_line(&mut input, &mut buf, &mut number)?.ok_or_else(|| {
            Error::Format("the manifest is missing (the export is cut short)".into())
        })?;
        if line.starts_with(br#"{"type":"manifest""#) {
            break line;
        }
        let entry: Entry = serde_json::from_slice(&line)
            .map_err(|e| Error::Format(format!("line {number}: {e}")))?;
        hash.update(&line);
        hash.update(b"\n");
        *counts.entry(entry.kind()).or_default() += 1;
        entries += 1;
        each(entry)?;
    };
    let at = number;
    if next_line(&mut input, &mut buf, &mut number)?.is_some() {
        return Err(Error::Format(format!(
            "line {number}: something follows the manifest (line {at})"
        )));
    }
    let line: ManifestLine = serde_json::from_slice(&manifest_line)
        .map_err(|e| Error::Format(format!("line {at} (the manifest): {e}")))?;
    let manifest: Manifest = serde_json::from_str(&line.manifest)
        .map_err(|e| Error::Format(format!("line {at} (the manifest): {e}")))?;
    check_signature(&header, &line)?;
    if manifest.format != header.pvault_export
        || manifest.profile != header.profile.id
        || manifest.identity != header.profile.identity
    {
        return Err(Error::Tampered(
            "the manifest and the header name different profiles or formats".into(),
        ));
    }
    if hex::encode(hash.finalize()) != manifest.sha256 {
        return Err(Error::Tampered(
            "the contents do not match the manifest's SHA-256".into(),
        ));
    }
    if manifest.entries != entries || manifest.counts != counts {
        return Err(Error::Tampered(format!(
            "the manifest counts {} entries, the file holds {entries}",
            manifest.entries
        )));
    }
    Ok(Verified { header, manifest })
}

/// The header, version first: a newer export is named as such even if its header differs.
fn parse_header(line: &[u8]) -> Result<Header> {
    let value: Value = serde_json::from_slice(line)
        .map_err(|_| Error::Format("the first line is not a pvault export header".into()))?;
    let version = value
        .get("pvault_export")
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::Format("the first line is not a pvault export header".into()))?;
    if version > FORMAT_VERSION {
        return Err(Error::NewerFormat {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if version == 0 {
        return Err(Error::Format("format version 0 does not exist".into()));
    }
    serde_json::from_value(value).map_err(|e| Error::Format(format!("line 1 (the header): {e}")))
}

fn check_signature(header: &Header, line: &ManifestLine) -> Result<()> {
    let bad = |what: &str| Error::Tampered(format!("the manifest's signature {what}"));
    let key: [u8; 32] = hex::decode(&header.profile.identity)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| Error::Format("the header's identity is not an Ed25519 key".into()))?;
    let key = VerifyingKey::from_bytes(&key)
        .map_err(|_| Error::Format("the header's identity is not an Ed25519 key".into()))?;
    let signature: [u8; 64] = hex::decode(&line.signature)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| bad("is malformed"))?;
    let mut signed = SIGNATURE_CONTEXT.to_vec();
    signed.extend_from_slice(line.manifest.as_bytes());
    key.verify_strict(&signed, &Signature::from_bytes(&signature))
        .map_err(|_| bad("does not verify with the header's identity"))
}

/// The next line without its `\n`; `None` at the end. A last line without `\n` is a cut file.
fn next_line<R: BufRead>(
    input: &mut R,
    buf: &mut Vec<u8>,
    number: &mut u64,
) -> Result<Option<Vec<u8>>> {
    buf.clear();
    let n = input
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    *number += 1;
    if buf.last() != Some(&b'\n') {
        return Err(Error::Format(if n > MAX_LINE {
            format!("line {number} is longer than {} MiB", MAX_LINE >> 20)
        } else {
            format!("line {number} does not end (the export is cut short)")
        }));
    }
    buf.pop();
    Ok(Some(std::mem::take(buf)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};
    use serde_json::json;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[9; 32])
    }

    fn record(id: &str, body: &str) -> Entry {
        Entry::Record(RecordEntry {
            collection: "notes".into(),
            id: id.into(),
            classification: "INTERNAL".into(),
            version: 1,
            revision: 7,
            device: "d".into(),
            created: "2026-12-01T00:00:00Z".into(),
            updated: "2026-12-01T00:00:00Z".into(),
            data: json!({"title": id, "body": body}),
            attestation: None,
        })
    }

    fn export(entries: &[Entry]) -> Vec<u8> {
        let header = Header::new(
            "ab",
            "alice",
            "Alice",
            "standard",
            key().verifying_key().as_bytes(),
            "dev",
            "t",
        );
        let mut w = Writer::new(Vec::new(), &header).unwrap();
        for e in entries {
            w.entry(e).unwrap();
        }
        w.finish(|m| key().sign(m).to_bytes()).unwrap().0
    }

    fn read(bytes: &[u8]) -> Result<(Verified, Vec<Entry>)> {
        let mut got = Vec::new();
        let v = verify(bytes, |e| {
            got.push(e);
            Ok(())
        })?;
        Ok((v, got))
    }

    #[test]
    fn round_trips_every_kind_of_entry() {
        let entries = vec![
            record("a", "line one\nline two"),
            Entry::Version(match record("b", "old") {
                Entry::Record(r) => r,
                _ => unreachable!(),
            }),
            record("b", "new"),
            Entry::Settings {
                settings: json!({"auto_lock": "15m"}),
            },
            Entry::Audit {
                log: json!({"entries": []}),
            },
        ];
        let bytes = export(&entries);
        let (v, got) = read(&bytes).unwrap();
        assert_eq!(got, entries);
        assert_eq!(v.manifest.entries, 5);
        assert_eq!(v.manifest.counts["record:notes"], 2);
        assert_eq!(v.header.profile.name, "alice");
        // One object a line: a newline inside a field is escaped.
        assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 7);
    }

    #[test]
    fn every_change_is_refused() {
        let bytes = export(&[record("a", "x"), record("b", "y")]);
        let text = String::from_utf8(bytes.clone()).unwrap();
        // A changed value, a dropped line, two lines swapped, a cut, something appended.
        let changed = text.replace("\"body\":\"x\"", "\"body\":\"z\"");
        assert!(matches!(read(changed.as_bytes()), Err(Error::Tampered(_))));
        let lines: Vec<&str> = text.lines().collect();
        let dropped = format!("{}\n{}\n{}\n", lines[0], lines[2], lines[3]);
        assert!(matches!(read(dropped.as_bytes()), Err(Error::Tampered(_))));
        let swapped = format!("{}\n{}\n{}\n{}\n", lines[0], lines[2], lines[1], lines[3]);
        assert!(matches!(read(swapped.as_bytes()), Err(Error::Tampered(_))));
        assert!(matches!(
            read(&bytes[..bytes.len() - 1]),
            Err(Error::Format(_))
        ));
        let no_manifest = format!("{}\n{}\n", lines[0], lines[1]);
        assert!(matches!(
            read(no_manifest.as_bytes()),
            Err(Error::Format(_))
        ));
        let appended = format!("{text}{}\n", lines[1]);
        assert!(matches!(read(appended.as_bytes()), Err(Error::Format(_))));
        // Re-signed by another key, with the header naming it: the contents hash no longer
        // matches (the header is hashed too), so that is refused as well.
        let other = SigningKey::from_bytes(&[3; 32]);
        let resigned = text.replace(
            &hex::encode(key().verifying_key().as_bytes()),
            &hex::encode(other.verifying_key().as_bytes()),
        );
        assert!(matches!(read(resigned.as_bytes()), Err(Error::Tampered(_))));
        // Every single-byte flip is refused.
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x01;
            assert!(read(&flipped).is_err(), "flip at {i} accepted");
        }
    }

    #[test]
    fn a_newer_format_or_an_unknown_field_is_refused() {
        let text = String::from_utf8(export(&[record("a", "x")])).unwrap();
        let newer = text.replacen("\"pvault_export\":1", "\"pvault_export\":2", 1);
        assert!(matches!(
            read(newer.as_bytes()),
            Err(Error::NewerFormat {
                found: 2,
                supported: 1
            })
        ));
        let unknown = text.replacen("\"collection\"", "\"colour\":1,\"collection\"", 1);
        assert!(matches!(read(unknown.as_bytes()), Err(Error::Format(_))));
        assert!(matches!(read(b"not json\n"), Err(Error::Format(_))));
        assert!(matches!(read(b""), Err(Error::Format(_))));
    }
}
