//! Signed checkpoints: a log's tree head as a C2SP tlog-checkpoint, signed as a C2SP signed note.
//!
//! This module owns the checkpoint's text ([`Checkpoint::body`], [`Checkpoint::parse_body`]) and
//! the Ed25519 signed note around it ([`sign`], [`open`]). The formats are the ecosystem's
//! (<https://c2sp.org/tlog-checkpoint>, <https://c2sp.org/signed-note>, as in Go's
//! `golang.org/x/mod/sumdb/note`), so other tools can read and check what a pvault server signs.
//! The tree whose root a checkpoint carries is [`crate::merkle`]'s.
//!
//! # The checkpoint body
//!
//! ```text
//! <origin>\n                   non-empty: which log this is
//! <size>\n                     decimal, no sign, no leading zeros ("0" for the empty tree)
//! <base64(root)>\n             standard base64 with padding of the 32-byte root: 44 characters
//! [<extension line>\n ...]     optional, each non-empty
//! ```
//!
//! # The signed note
//!
//! ```text
//! <text>                       the body, ending in \n; the signature covers exactly these bytes
//! \n                           a blank line: the last one of the note ends the text
//! — <key name> <base64(key id (4) | Ed25519 signature (64))>\n     one line per signature
//! ```
//!
//! The line starts with an em dash (U+2014) and a space. `key id = SHA-256(key name | 0x0A | 0x01 |
//! public key (32))[0..4]`, where 0x01 is signed-note's number for Ed25519. A key name is non-empty
//! and holds no white space and no `+`. A note is UTF-8, at most [`MAX_NOTE_BYTES`], and holds no
//! control character but the newline (Unicode's control characters: the spec's ASCII ones, DEL and
//! the C1 range).
//!
//! Opening a note checks it against one expected key, named: the lines of other keys (another name,
//! or the same name with another key id) are skipped, as the spec requires, so witnesses can add
//! cosignatures. A line of the expected key must verify, and at least one must be there.
//!
//! ```
//! use pvault_proto::checkpoint::{Checkpoint, open};
//! use ed25519_dalek::SigningKey;
//!
//! let key = SigningKey::from_bytes(&[7; 32]);
//! let head = Checkpoint { origin: "pvault.example/log".into(), size: 3, root: [9; 32], extensions: vec![] };
//! let note = head.sign("pvault.example/log", &key).unwrap();
//! assert_eq!(open(note.as_bytes(), "pvault.example/log", &key.verifying_key()), Ok(head));
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use pvault_codec::ChainHasher;
use thiserror::Error;

/// The largest signed note [`open`] reads (and [`sign`] writes).
pub const MAX_NOTE_BYTES: usize = 16 * 1024;

/// The most signature lines [`open`] reads in one note.
pub const MAX_SIGNATURES: usize = 100;

/// How a signature line starts: an em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Signed-note's signature type byte for Ed25519.
const ED25519: u8 = 0x01;

/// Why a checkpoint or a signed note is refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("signed note larger than 16 KiB")]
    TooLarge,
    #[error("signed note is not UTF-8")]
    NotUtf8,
    #[error("malformed signed note: {0}")]
    MalformedNote(&'static str),
    #[error("malformed checkpoint: {0}")]
    MalformedBody(&'static str),
    #[error("invalid key name (empty, or with white space, '+' or a control character)")]
    BadKeyName,
    #[error("a signature by the expected key does not verify")]
    BadSignature,
    #[error("no signature by the expected key")]
    NotSigned,
}

use CheckpointError::{MalformedBody, MalformedNote};

/// A log's tree head: which log, how many leaves, the root over them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: [u8; 32],
    /// Further lines, opaque; the spec advises against them, as log monitors cannot audit them.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The checkpoint's text, as laid out in the module documentation.
    pub fn body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Reads a checkpoint's text, refusing anything [`Checkpoint::body`] would not write: a missing
    /// line or final newline, an empty origin or extension line, a size that is not canonical
    /// decimal, a root that is not 32 bytes in canonical padded base64, a control character.
    pub fn parse_body(text: &str) -> Result<Checkpoint, CheckpointError> {
        if has_control(text) {
            return Err(MalformedBody("a control character"));
        }
        let lines: Vec<&str> = text
            .strip_suffix('\n')
            .ok_or(MalformedBody("it does not end in a newline"))?
            .split('\n')
            .collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(MalformedBody("fewer than three lines"));
        };
        if origin.is_empty() {
            return Err(MalformedBody("empty origin"));
        }
        let size = size
            .parse::<u64>()
            .ok()
            .filter(|n| n.to_string() == *size)
            .ok_or(MalformedBody(
                "the tree size is not a decimal without leading zeros",
            ))?;
        let root = B64
            .decode(root)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .filter(|bytes| B64.encode(bytes) == *root)
            .ok_or(MalformedBody("the root is not 32 bytes of padded base64"))?;
        if extensions.iter().any(|line| line.is_empty()) {
            return Err(MalformedBody("an empty extension line"));
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions: extensions.iter().map(|line| line.to_string()).collect(),
        })
    }

    /// The checkpoint as a note signed by `key` under `key_name`. Refuses a checkpoint whose body
    /// would not read back as itself (a field with a newline, an empty origin).
    pub fn sign(&self, key_name: &str, key: &SigningKey) -> Result<String, CheckpointError> {
        let body = self.body();
        if Checkpoint::parse_body(&body)? != *self {
            return Err(MalformedBody("a field holds a newline"));
        }
        sign(&body, key_name, key)
    }
}

/// The key id of `key` under `key_name`: `SHA-256(key name | 0x0A | 0x01 | public key)[0..4]`.
pub fn key_id(key_name: &str, key: &VerifyingKey) -> [u8; 4] {
    let hash = ChainHasher::new()
        .raw(key_name.as_bytes())
        .raw(b"\n")
        .raw(&[ED25519])
        .raw(key.as_bytes())
        .finish();
    [hash[0], hash[1], hash[2], hash[3]]
}

/// The key as Go's `sumdb/note` and the transparency-dev tools take a verifier key:
/// `<name>+<key id, 8 hex digits>+<base64(0x01 | public key)>`.
pub fn verifier_key(key_name: &str, key: &VerifyingKey) -> String {
    let mut typed = vec![ED25519];
    typed.extend_from_slice(key.as_bytes());
    format!(
        "{key_name}+{}+{}",
        hex::encode(key_id(key_name, key)),
        B64.encode(typed)
    )
}

/// Signs `text` (a checkpoint's [`Checkpoint::body`], or any note text) as a signed note with one
/// signature: `text | "\n" | "— " | key_name | " " | base64(key id | signature) | "\n"`.
///
/// Refuses a bad key name, a text that does not end in a newline or holds a control character, and
/// a note [`open`] would refuse as too large.
pub fn sign(text: &str, key_name: &str, key: &SigningKey) -> Result<String, CheckpointError> {
    if !valid_key_name(key_name) {
        return Err(CheckpointError::BadKeyName);
    }
    if !text.ends_with('\n') {
        return Err(MalformedNote("the text does not end in a newline"));
    }
    if has_control(text) {
        return Err(MalformedNote("a control character"));
    }
    let mut signature = key_id(key_name, &key.verifying_key()).to_vec();
    signature.extend_from_slice(&key.sign(text.as_bytes()).to_bytes());
    let note = format!(
        "{text}\n{SIGNATURE_PREFIX}{key_name} {}\n",
        B64.encode(signature)
    );
    if note.len() > MAX_NOTE_BYTES {
        return Err(CheckpointError::TooLarge);
    }
    Ok(note)
}

/// Opens a signed note and reads the checkpoint in it: [`open_note`], then
/// [`Checkpoint::parse_body`]. The caller compares the origin and size with what it expects.
pub fn open(
    note: &[u8],
    key_name: &str,
    key: &VerifyingKey,
) -> Result<Checkpoint, CheckpointError> {
    Checkpoint::parse_body(open_note(note, key_name, key)?)
}

/// Opens a signed note: checks its form and its signatures, and gives its text once a signature by
/// `key` under `key_name` verifies.
///
/// Refuses a note over [`MAX_NOTE_BYTES`], not UTF-8, holding a control character other than the
/// newline, without a blank line before the signatures, with a malformed signature line or more
/// than [`MAX_SIGNATURES`] of them ([`CheckpointError::MalformedNote`]); one where a line of the
/// expected key does not verify ([`CheckpointError::BadSignature`]); one with no line of it
/// ([`CheckpointError::NotSigned`]). Lines of other keys are skipped unverified.
pub fn open_note<'a>(
    note: &'a [u8],
    key_name: &str,
    key: &VerifyingKey,
) -> Result<&'a str, CheckpointError> {
    if !valid_key_name(key_name) {
        return Err(CheckpointError::BadKeyName);
    }
    if note.len() > MAX_NOTE_BYTES {
        return Err(CheckpointError::TooLarge);
    }
    let note = std::str::from_utf8(note).map_err(|_| CheckpointError::NotUtf8)?;
    if has_control(note) {
        return Err(MalformedNote("a control character"));
    }
    let split = note
        .rfind("\n\n")
        .ok_or(MalformedNote("no blank line before the signatures"))?;
    // The text keeps its final newline; the blank line belongs to neither part.
    let (text, signatures) = (&note[..split + 1], &note[split + 2..]);
    let lines: Vec<&str> = signatures
        .strip_suffix('\n')
        .ok_or(MalformedNote("the signatures do not end in a newline"))?
        .split('\n')
        .collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(MalformedNote("too many signatures"));
    }

    let want_id = key_id(key_name, key);
    let mut verified = false;
    for line in lines {
        let (name, blob) = line
            .strip_prefix(SIGNATURE_PREFIX)
            .and_then(|rest| rest.split_once(' '))
            .ok_or(MalformedNote("a line is not '— <key name> <signature>'"))?;
        if !valid_key_name(name) {
            return Err(MalformedNote("a signature line has an invalid key name"));
        }
        let blob = B64
            .decode(blob)
            .map_err(|_| MalformedNote("a signature is not base64"))?;
        let Some((id, signature)) = blob.split_first_chunk::<4>() else {
            return Err(MalformedNote("a signature is shorter than its key id"));
        };
        if signature.is_empty() {
            return Err(MalformedNote("a signature is empty"));
        }
        if name != key_name || *id != want_id {
            continue; // another key's: a witness's cosignature, an old key's
        }
        let signature =
            <[u8; 64]>::try_from(signature).map_err(|_| CheckpointError::BadSignature)?;
        key.verify_strict(text.as_bytes(), &Signature::from_bytes(&signature))
            .map_err(|_| CheckpointError::BadSignature)?;
        verified = true;
    }
    if !verified {
        return Err(CheckpointError::NotSigned);
    }
    Ok(text)
}

/// A key name: non-empty, no white space (Unicode's), no `+`, no control character.
fn valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// Whether `text` holds a control character other than the newline.
fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    // The reference note of golang.org/x/mod/sumdb/note (note.go's documentation, note_test.go's
    // TestSign and TestOpen): an Ed25519 key "PeterNeumann" given by its seed, its verifier key,
    // a text, the note Sign makes of it (Ed25519 is deterministic, so the signature is too), and a
    // second key's signature line over the same text.
    const PETER_SIGNER_KEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VERIFIER_KEY: &str =
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    fn peter() -> SigningKey {
        // PRIVATE+KEY+<name>+<key id>+<base64(0x01 | seed)>; the base64 may hold a '+' itself.
        let encoded = PETER_SIGNER_KEY.splitn(5, '+').nth(4).unwrap();
        let typed = B64.decode(encoded).unwrap();
        assert_eq!(typed[0], ED25519);
        SigningKey::from_bytes(&typed[1..].try_into().unwrap())
    }

    fn note(text: &str, sigs: &[&str]) -> Vec<u8> {
        format!("{text}\n{}", sigs.concat()).into_bytes()
    }

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_bytes(&[byte; 32])
    }

    fn head() -> Checkpoint {
        Checkpoint {
            origin: "pvault.example/log".into(),
            size: 20852163,
            root: [0xab; 32],
            extensions: vec![],
        }
    }

    #[test]
    fn go_reference_note_is_reproduced_and_opens() {
        let peter = peter();
        assert_eq!(
            verifier_key("PeterNeumann", &peter.verifying_key()),
            PETER_VERIFIER_KEY
        );
        assert_eq!(
            hex::encode(key_id("PeterNeumann", &peter.verifying_key())),
            "c74f20a3"
        );
        let signed = sign(TEXT, "PeterNeumann", &peter).unwrap();
        assert_eq!(signed.as_bytes(), note(TEXT, &[PETER_SIG]));

        let vk = peter.verifying_key();
        assert_eq!(open_note(signed.as_bytes(), "PeterNeumann", &vk), Ok(TEXT));
        // Another key's signature, before or after, is skipped.
        assert_eq!(
            open_note(&note(TEXT, &[PETER_SIG, ENOCH_SIG]), "PeterNeumann", &vk),
            Ok(TEXT)
        );
        assert_eq!(
            open_note(&note(TEXT, &[ENOCH_SIG, PETER_SIG]), "PeterNeumann", &vk),
            Ok(TEXT)
        );
        assert_eq!(
            open_note(&note(TEXT, &[ENOCH_SIG]), "PeterNeumann", &vk),
            Err(CheckpointError::NotSigned)
        );
        // The same key under another name has another id: not the expected key.
        assert_eq!(
            open_note(signed.as_bytes(), "EnochRoot", &vk),
            Err(CheckpointError::NotSigned)
        );
        // It is not a checkpoint, so open refuses it after the signature verifies.
        assert!(matches!(
            open(signed.as_bytes(), "PeterNeumann", &vk),
            Err(MalformedBody(_))
        ));
    }

    /// Go's TestOpen: a signature line of the expected key with "ABCD" inserted into it.
    #[test]
    fn a_bad_signature_of_the_expected_key_refuses_the_note() {
        let vk = peter().verifying_key();
        let bad = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        assert_eq!(
            open_note(&note(TEXT, &[&bad]), "PeterNeumann", &vk),
            Err(CheckpointError::BadSignature)
        );
        // A key id and a one-byte signature (Go's shortest well-formed line).
        assert_eq!(
            open_note(
                &note(TEXT, &["\u{2014} PeterNeumann x08go/Y=\n"]),
                "PeterNeumann",
                &vk
            ),
            Err(CheckpointError::BadSignature)
        );
        // Even beside a good one.
        assert_eq!(
            open_note(&note(TEXT, &[PETER_SIG, &bad]), "PeterNeumann", &vk),
            Err(CheckpointError::BadSignature)
        );
        // Another key's bad line is not checked.
        let enoch_bad = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
        assert_eq!(
            open_note(&note(TEXT, &[PETER_SIG, &enoch_bad]), "PeterNeumann", &vk),
            Ok(TEXT)
        );
    }

    /// Go's TestOpen "invalid encoded message syntax", and more.
    #[test]
    fn malformed_notes_are_refused() {
        let vk = peter().verifying_key();
        let sig_without_newline = &PETER_SIG[..PETER_SIG.len() - 1];
        let peter_b64 = PETER_SIG.split(' ').nth(2).unwrap().trim_end();
        let cases: Vec<(String, &str)> = vec![
            (TEXT.to_string(), "no signatures"),
            (format!("{TEXT}\n"), "empty signature block"),
            (format!("{TEXT}\n{sig_without_newline}"), "no final newline"),
            (format!("\u{1}{TEXT}\n{PETER_SIG}"), "control character"),
            (format!("{TEXT}\n{}", PETER_SIG.replace('\n', "\r\n")), "CR"),
            (
                format!("{TEXT}\n\u{2014} Bad Name {peter_b64}\n"),
                "space in name",
            ),
            (
                format!("{TEXT}\n\u{2014} Bad+Name {peter_b64}\n"),
                "plus in name",
            ),
            (format!("{TEXT}\n\u{2014}  {peter_b64}\n"), "empty name"),
            (format!("{TEXT}\n\u{2014} PeterNeumann\n"), "no signature"),
            (
                format!("{TEXT}\n\u{2014} PeterNeumann \n"),
                "empty signature",
            ),
            (
                format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
                "junk line",
            ),
            (
                format!("{TEXT}\n- PeterNeumann {peter_b64}\n"),
                "hyphen, not em dash",
            ),
            (
                format!("{TEXT}\n\u{2014}PeterNeumann {peter_b64}\n"),
                "no space after dash",
            ),
            (
                format!("{TEXT}\n\u{2014} PeterNeumann {peter_b64}x\n"),
                "not base64",
            ),
            (
                format!(
                    "{TEXT}\n\u{2014} PeterNeumann {}\n",
                    peter_b64.trim_end_matches('=')
                ),
                "unpadded",
            ),
            (
                format!("{TEXT}\n\u{2014} PeterNeumann x08gow==\n"),
                "only a key id",
            ),
            (
                format!("{TEXT}\n\u{2014} PeterNeumann x08g\n"),
                "shorter than a key id",
            ),
            (
                format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES + 1)),
                "too many signatures",
            ),
        ];
        for (note, why) in cases {
            assert!(
                matches!(
                    open_note(note.as_bytes(), "PeterNeumann", &vk),
                    Err(MalformedNote(_))
                ),
                "{why}"
            );
        }
        let mut not_utf8 = note(TEXT, &[PETER_SIG]);
        not_utf8[0] = 0xff;
        assert_eq!(
            open_note(&not_utf8, "PeterNeumann", &vk),
            Err(CheckpointError::NotUtf8)
        );
        let huge = note(&"x\n".repeat(MAX_NOTE_BYTES / 2), &[PETER_SIG]);
        assert_eq!(
            open_note(&huge, "PeterNeumann", &vk),
            Err(CheckpointError::TooLarge)
        );
        assert_eq!(
            open_note(&note(TEXT, &[PETER_SIG]), "Peter Neumann", &vk),
            Err(CheckpointError::BadKeyName)
        );
        // As many signatures as allowed are read.
        let many = note(TEXT, &[&PETER_SIG.repeat(MAX_SIGNATURES)]);
        assert_eq!(open_note(&many, "PeterNeumann", &vk), Ok(TEXT));
    }

    #[test]
    fn checkpoints_round_trip() {
        let key = key(1);
        for checkpoint in [
            head(),
            Checkpoint { size: 0, ..head() },
            Checkpoint {
                size: u64::MAX,
                ..head()
            },
            Checkpoint {
                extensions: vec!["timestamp 1700000000".into(), "\u{e9}t\u{e9} +".into()],
                ..head()
            },
            Checkpoint {
                origin: "Moon Log".into(),
                ..head()
            },
        ] {
            let body = checkpoint.body();
            assert_eq!(Checkpoint::parse_body(&body), Ok(checkpoint.clone()));
            let note = checkpoint.sign("pvault.example/log", &key).unwrap();
            assert_eq!(note, sign(&body, "pvault.example/log", &key).unwrap());
            assert_eq!(
                open(note.as_bytes(), "pvault.example/log", &key.verifying_key()),
                Ok(checkpoint)
            );
        }
    }

    #[test]
    fn the_body_is_the_spec_layout() {
        let root = [0xab; 32];
        assert_eq!(
            head().body(),
            format!("pvault.example/log\n20852163\n{}\n", B64.encode(root))
        );
        let with_extensions = Checkpoint {
            extensions: vec!["a".into(), "b c".into()],
            ..head()
        };
        assert!(with_extensions.body().ends_with("=\na\nb c\n"));
        let note = head().sign("pvault.example/log", &key(1)).unwrap();
        let (body, signature) = note.split_once("\n\n").unwrap();
        assert_eq!(format!("{body}\n"), head().body());
        let signature = signature
            .strip_prefix("\u{2014} pvault.example/log ")
            .unwrap();
        let blob = B64.decode(signature.strip_suffix('\n').unwrap()).unwrap();
        assert_eq!(blob.len(), 68);
        assert_eq!(
            blob[..4],
            key_id("pvault.example/log", &key(1).verifying_key())
        );
    }

    /// The example of c2sp.org/tlog-checkpoint: a well-formed note by a key we do not hold.
    #[test]
    fn the_spec_example_reads() {
        let body =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let checkpoint = Checkpoint::parse_body(body).unwrap();
        assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
        assert_eq!(checkpoint.size, 20852163);
        assert_eq!(checkpoint.body(), body);
        let note = format!(
            "{body}\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
        );
        assert_eq!(
            open(
                note.as_bytes(),
                "example.com/behind-the-sofa",
                &key(1).verifying_key()
            ),
            Err(CheckpointError::NotSigned)
        );
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let root = B64.encode([0xab; 32]);
        let cases = [
            (String::new(), "empty"),
            (format!("log\n5\n{root}"), "no final newline"),
            ("log\n5\n".to_string(), "two lines"),
            (format!("\n5\n{root}\n"), "empty origin"),
            (format!("\nlog\n5\n{root}\n"), "leading blank line"),
            (format!("log\n5\n{root}\n\n"), "trailing blank line"),
            (format!("log\n5\n{root}\na\n\nb\n"), "empty extension line"),
            (
                format!("log\n5\n{root}\na\u{7}\n"),
                "control character in an extension",
            ),
            (format!("log\r\n5\n{root}\n"), "CR"),
            (format!("log\n05\n{root}\n"), "leading zero"),
            (format!("log\n00\n{root}\n"), "zero with a leading zero"),
            (format!("log\n+5\n{root}\n"), "plus sign"),
            (format!("log\n-5\n{root}\n"), "minus sign"),
            (format!("log\n 5\n{root}\n"), "space"),
            (format!("log\n5 \n{root}\n"), "trailing space"),
            (format!("log\n\n{root}\n"), "empty size"),
            (format!("log\n0x5\n{root}\n"), "hex"),
            (format!("log\n18446744073709551616\n{root}\n"), "above u64"),
            (
                format!("log\n5\n{}\n", root.trim_end_matches('=')),
                "unpadded root",
            ),
            (
                format!("log\n5\n{}\n", B64.encode([0xab; 31])),
                "31-byte root",
            ),
            (
                format!("log\n5\n{}\n", B64.encode([0xab; 33])),
                "33-byte root",
            ),
            (
                format!("log\n5\n{}\n", root.replace('r', "_")),
                "URL-safe alphabet",
            ),
            // 32 bytes of 0xab end in "s=", whose "s" carries 2 unused zero bits; "t" sets one.
            (
                format!("log\n5\n{}t=\n", &root[..42]),
                "non-canonical base64",
            ),
            (format!("log\n5\n {root}\n"), "space before the root"),
        ];
        assert!(root.ends_with("q6s="), "{root}");
        for (body, why) in cases {
            assert!(
                matches!(Checkpoint::parse_body(&body), Err(MalformedBody(_))),
                "{why}: {body:?}"
            );
        }
        assert!(Checkpoint::parse_body(&format!("log\n0\n{root}\n")).is_ok());
    }

    #[test]
    fn another_key_or_an_edited_body_is_refused() {
        let (ours, theirs) = (key(1), key(2));
        let note = head().sign("pvault.example/log", &theirs).unwrap();
        assert_eq!(
            open(note.as_bytes(), "pvault.example/log", &ours.verifying_key()),
            Err(CheckpointError::NotSigned)
        );

        let note = head().sign("pvault.example/log", &ours).unwrap();
        let edited = note.replacen("20852163", "20852164", 1);
        assert_eq!(
            open(
                edited.as_bytes(),
                "pvault.example/log",
                &ours.verifying_key()
            ),
            Err(CheckpointError::BadSignature)
        );
        // A signature moved onto another checkpoint does not verify either.
        let other = Checkpoint { size: 1, ..head() }.body();
        let (_, signature) = note.split_once("\n\n").unwrap();
        let moved = format!("{other}\n{signature}");
        assert_eq!(
            open(
                moved.as_bytes(),
                "pvault.example/log",
                &ours.verifying_key()
            ),
            Err(CheckpointError::BadSignature)
        );
        // A cosignature by another key does not get in the way.
        let cosigned = format!(
            "{note}{}",
            sign(&head().body(), "witness.example", &theirs)
                .unwrap()
                .split_once("\n\n")
                .unwrap()
                .1
        );
        assert_eq!(
            open(
                cosigned.as_bytes(),
                "pvault.example/log",
                &ours.verifying_key()
            ),
            Ok(head())
        );
    }

    #[test]
    fn the_text_ends_at_the_last_blank_line() {
        let key = key(3);
        let text = "first\n\nsecond, after a blank line\n";
        let note = sign(text, "k", &key).unwrap();
        assert_eq!(
            open_note(note.as_bytes(), "k", &key.verifying_key()),
            Ok(text)
        );
    }

    #[test]
    fn sign_refuses_what_open_would() {
        let key = key(1);
        for name in [
            "",
            "a b",
            "a+b",
            "a\u{a0}b",
            "a\u{2003}b",
            "a\tb",
            "a\u{7f}b",
        ] {
            assert_eq!(
                sign(TEXT, name, &key),
                Err(CheckpointError::BadKeyName),
                "{name:?}"
            );
        }
        assert!(matches!(
            sign("no newline", "k", &key),
            Err(MalformedNote(_))
        ));
        assert!(matches!(sign("", "k", &key), Err(MalformedNote(_))));
        assert!(matches!(
            sign("bell\u{7}\n", "k", &key),
            Err(MalformedNote(_))
        ));
        assert_eq!(
            sign(&"x\n".repeat(MAX_NOTE_BYTES / 2), "k", &key),
            Err(CheckpointError::TooLarge)
        );
        for bad in [
            Checkpoint {
                origin: String::new(),
                ..head()
            },
            Checkpoint {
                origin: "two\nlines".into(),
                ..head()
            },
            Checkpoint {
                extensions: vec!["a\nb".into()],
                ..head()
            },
            Checkpoint {
                extensions: vec![String::new()],
                ..head()
            },
        ] {
            assert!(
                matches!(bad.sign("k", &key), Err(MalformedBody(_))),
                "{bad:?}"
            );
        }
    }
}
