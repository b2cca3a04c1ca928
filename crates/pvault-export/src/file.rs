//! The age layer: seal a stream to recipients or a passphrase, open one with identities or a
//! passphrase, and say precisely what is wrong with a file that does not open.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::str::FromStr;

use age::armor::{ArmoredReadError, ArmoredReader, ArmoredWriter, Format};
use age::secrecy::SecretString;
use age::{DecryptError, Decryptor, Encryptor};

use crate::error::{Error, Result};
use crate::hybrid;

/// The scrypt work factor (log₂ N) of a passphrase-protected export: what `age -p` uses, so any
/// age implementation opens it in about a second.
pub const PASSPHRASE_WORK_FACTOR: u8 = 18;

/// The highest work factor accepted when opening (2^20 × 1 KiB = 1 GiB of memory for scrypt):
/// a file asking for more is refused instead of exhausting the machine.
pub const MAX_WORK_FACTOR: u8 = 20;

/// How an export is protected.
pub enum Protection {
    /// Encrypted to these age X25519 recipients (`age1…`).
    Recipients(Vec<String>),
    /// Encrypted to a passphrase (scrypt, [`PASSPHRASE_WORK_FACTOR`]).
    Passphrase(SecretString),
}

/// What opens an export.
pub enum Key {
    /// The passphrase it was encrypted to.
    Passphrase(SecretString),
    /// Identities, as read from an age identity file.
    Identities(Identities),
}

/// Age identities read from an identity file (`age-keygen`'s format: one identity per line,
/// X25519 `AGE-SECRET-KEY-1…` or post-quantum hybrid `AGE-SECRET-KEY-PQ-1…` (`age-keygen -pq`),
/// in any mix; `#` comments and blank lines ignored).
pub struct Identities(Vec<Box<dyn age::Identity + Send + Sync>>);

impl Identities {
    /// Parses an identity file's text. A line that is not an identity is named by its number,
    /// never shown (it may be a secret with a typo in it).
    pub fn parse(text: &str) -> Result<Identities> {
        let mut found: Vec<Box<dyn age::Identity + Send + Sync>> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // Bech32 may be in either case; the prefix says which type the line is meant to be.
            let hybrid = line
                .get(..hybrid::SECRET_KEY_PREFIX.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(hybrid::SECRET_KEY_PREFIX));
            let id: Option<Box<dyn age::Identity + Send + Sync>> = if hybrid {
                hybrid::Identity::from_str(line)
                    .ok()
                    .map(|id| Box::new(id) as _)
            } else {
                age::x25519::Identity::from_str(line)
                    .ok()
                    .map(|id| Box::new(id) as _)
            };
            match id {
                Some(id) => found.push(id),
                None => return Err(Error::IdentityFile { line: i + 1 }),
            }
        }
        if found.is_empty() {
            return Err(Error::Format(
                "the identity file holds no age identity".into(),
            ));
        }
        Ok(Identities(found))
    }
}

/// An export being written: write the contents, then [`Sealed::finish`].
pub struct Sealed<W: Write>(age::stream::StreamWriter<ArmoredWriter<W>>);

impl<W: Write> Write for Sealed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write> Sealed<W> {
    /// Writes the last chunk (and the armor's end line); returns the output.
    pub fn finish(self) -> Result<W> {
        Ok(self.0.finish()?.finish()?)
    }
}

/// Starts an age file on `out`, protected as asked, ASCII-armored with `armor`.
pub fn seal<W: Write>(out: W, protection: &Protection, armor: bool) -> Result<Sealed<W>> {
    let encryptor = match protection {
        Protection::Recipients(list) => {
            let recipients = list
                .iter()
                .map(|r| {
                    age::x25519::Recipient::from_str(r.trim())
                        .map_err(|_| Error::Recipient(r.clone()))
                })
                .collect::<Result<Vec<_>>>()?;
            if recipients.is_empty() {
                return Err(Error::Format("no recipient given".into()));
            }
            Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
        }
        Protection::Passphrase(p) => {
            let mut r = age::scrypt::Recipient::new(p.clone());
            r.set_work_factor(PASSPHRASE_WORK_FACTOR);
            Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        }
    }
    .map_err(|e| Error::Format(e.to_string()))?;
    let format = if armor {
        Format::AsciiArmor
    } else {
        Format::Binary
    };
    let armored = ArmoredWriter::wrap_output(out, format)?;
    Ok(Sealed(encryptor.wrap_output(armored)?))
}

/// An opened export: reads the decrypted contents. A read that fails says why as this crate's
/// [`Error`] (inside the `io::Error`; `Error::from` takes it back out).
pub struct Opened<R: Read>(age::stream::StreamReader<ArmoredReader<BufReader<BufReader<R>>>>);

impl<R: Read> Read for Opened<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| io::Error::other(payload_error(e)))
    }
}

/// Opens an age file (binary or armored) with `key`.
pub fn open<R: Read>(input: R, key: &Key) -> Result<Opened<R>> {
    let mut input = BufReader::new(input);
    let start = input.fill_buf()?;
    if !looks_like_age(start) {
        return Err(Error::NotAge);
    }
    // Whitespace before armored text is allowed (the age library only finds the armor at the
    // very start).
    let blank = start.len() - start.trim_ascii_start().len();
    if blank > 0 && start[blank..].starts_with(b"-----BEGIN") {
        input.consume(blank);
    }
    let decryptor = Decryptor::new(ArmoredReader::new(input)).map_err(decrypt_error)?;
    let stream = match key {
        Key::Passphrase(p) => {
            if !decryptor.is_scrypt() {
                return Err(Error::NoMatch(
                    "this file is encrypted to age recipients, not to a passphrase: give the \
                     identity file instead",
                ));
            }
            let mut identity = age::scrypt::Identity::new(p.clone());
            identity.set_max_work_factor(MAX_WORK_FACTOR);
            decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity))
        }
        Key::Identities(ids) => {
            if decryptor.is_scrypt() {
                return Err(Error::NoMatch(
                    "this file is encrypted to a passphrase, not to an identity: give the \
                     passphrase instead",
                ));
            }
            decryptor.decrypt(ids.0.iter().map(|i| i.as_ref() as &dyn age::Identity))
        }
    }
    .map_err(|e| match (e, key) {
        (
            DecryptError::DecryptionFailed | DecryptError::KeyDecryptionFailed,
            Key::Passphrase(_),
        ) => Error::NoMatch(
            "the passphrase does not open this file (a wrong passphrase, or a damaged header)",
        ),
        (e, _) => decrypt_error(e),
    })?;
    Ok(Opened(stream))
}

/// Whether the first bytes are those of an age file or of armored text (leading whitespace
/// allowed before the armor, as armored text is often pasted). A file shorter than the marker
/// counts if it is a start of one (age then says what is wrong with it).
pub fn looks_like_age(start: &[u8]) -> bool {
    let starts =
        |s: &[u8], marker: &[u8]| !s.is_empty() && (s.starts_with(marker) || marker.starts_with(s));
    starts(start, b"age-encryption.org/") || starts(start.trim_ascii_start(), b"-----BEGIN")
}

fn decrypt_error(e: DecryptError) -> Error {
    match e {
        DecryptError::InvalidHeader => Error::Header("it does not parse".into()),
        DecryptError::UnknownFormat => {
            Error::Header("an unknown (perhaps newer) version of the age format".into())
        }
        DecryptError::ExcessiveWork { required, .. } => Error::Header(format!(
            "its passphrase work factor is {required}; at most {MAX_WORK_FACTOR} is accepted"
        )),
        DecryptError::InvalidMac => Error::HeaderMac,
        DecryptError::DecryptionFailed
        | DecryptError::KeyDecryptionFailed
        | DecryptError::NoMatchingKeys => {
            Error::NoMatch("none of the given identities opens this file")
        }
        DecryptError::Io(e) => match armor_error(&e) {
            Some(armor) => Error::Armor(armor),
            None => Error::Header(e.to_string()),
        },
        other => Error::Header(other.to_string()),
    }
}

/// What a failed read of the payload means.
fn payload_error(e: io::Error) -> Error {
    if let Some(armor) = armor_error(&e) {
        return Error::Armor(armor);
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => Error::Payload("it ends early".into()),
        io::ErrorKind::InvalidData => Error::Payload(e.to_string()),
        _ => Error::Io(e),
    }
}

fn armor_error(e: &io::Error) -> Option<String> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<ArmoredReadError>())
        .map(ToString::to_string)
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            if let Ok(ours) = e.into_inner().expect("checked").downcast::<Error>() {
                return *ours;
            }
            unreachable!("checked to be this crate's error");
        }
        Error::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(protection: &Protection, key: &Key, armor: bool) -> Result<Vec<u8>> {
        let mut sealed = seal(Vec::new(), protection, armor)?;
        sealed.write_all(b"hello export")?;
        let file = sealed.finish()?;
        let mut out = Vec::new();
        open(&file[..], key)?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn seals_and_opens_with_a_recipient_or_a_passphrase() {
        let identity = age::x25519::Identity::generate();
        let recipient = identity.to_public().to_string();
        let ids = || {
            use age::secrecy::ExposeSecret;
            Key::Identities(Identities::parse(identity.to_string().expose_secret()).unwrap())
        };
        for armor in [false, true] {
            let to = Protection::Recipients(vec![recipient.clone()]);
            assert_eq!(round_trip(&to, &ids(), armor).unwrap(), b"hello export");
        }
        let pass = || SecretString::from("correct horse".to_string());
        let wrong = Key::Passphrase(SecretString::from("wrong".to_string()));
        let to = Protection::Passphrase(pass());
        assert_eq!(
            round_trip(&to, &Key::Passphrase(pass()), false).unwrap(),
            b"hello export"
        );
        assert!(matches!(
            round_trip(&to, &wrong, false),
            Err(Error::NoMatch(_))
        ));
        assert!(matches!(
            round_trip(&to, &ids(), false),
            Err(Error::NoMatch(_))
        ));
        let other = Protection::Recipients(vec![
            age::x25519::Identity::generate().to_public().to_string(),
        ]);
        assert!(matches!(
            round_trip(&other, &ids(), false),
            Err(Error::NoMatch(_))
        ));
    }

    #[test]
    fn a_passphrase_file_uses_the_fixed_work_factor() {
        let mut sealed = seal(
            Vec::new(),
            &Protection::Passphrase(SecretString::from("p".to_string())),
            false,
        )
        .unwrap();
        sealed.write_all(b"x").unwrap();
        let file = sealed.finish().unwrap();
        let header = String::from_utf8_lossy(&file[..80]).to_string();
        let stanza = header.lines().nth(1).unwrap();
        assert!(stanza.starts_with("-> scrypt "), "{stanza}");
        assert!(stanza.ends_with(" 18"), "{stanza}");
    }

    #[test]
    fn damage_is_named() {
        let identity = age::x25519::Identity::generate();
        let to = Protection::Recipients(vec![identity.to_public().to_string()]);
        let mut sealed = seal(Vec::new(), &to, false).unwrap();
        sealed.write_all(&[7u8; 100_000]).unwrap();
        let file = sealed.finish().unwrap();
        let key = {
            use age::secrecy::ExposeSecret;
            Key::Identities(Identities::parse(identity.to_string().expose_secret()).unwrap())
        };
        let read = |bytes: &[u8]| -> Result<Vec<u8>> {
            let mut out = Vec::new();
            open(bytes, &key)?.read_to_end(&mut out)?;
            Ok(out)
        };
        assert!(matches!(read(b"{\"json\": true}"), Err(Error::NotAge)));
        assert!(matches!(read(b""), Err(Error::NotAge)));
        let mut flipped = file.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(read(&flipped), Err(Error::Payload(_))));
        assert!(matches!(
            read(&file[..file.len() - 10]),
            Err(Error::Payload(_))
        ));
        let mut mac = file.clone();
        let at = file.windows(4).position(|w| w == b"--- ").unwrap() + 5;
        mac[at] = if mac[at] == b'A' { b'B' } else { b'A' };
        assert!(matches!(
            read(&mac),
            Err(Error::HeaderMac | Error::Header(_))
        ));
    }

    #[test]
    fn identity_files_name_bad_lines_without_showing_them() {
        use age::secrecy::ExposeSecret;
        let err = Identities::parse("# a comment\n\nAGE-SECRET-KEY-1NOTAKEY\n")
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "line 3 of the identity file is not an age identity"
        );
        assert!(matches!(
            Identities::parse("# only\n"),
            Err(Error::Format(_))
        ));
        // A post-quantum line with a typo in it: named, not shown.
        let typo = hybrid::tests::CCTV_IDENTITY.replace("HZLG", "HZLH");
        let x25519 = age::x25519::Identity::generate().to_string();
        let text = format!("{}\n# pq\n{typo}\n", x25519.expose_secret());
        let err = Identities::parse(&text).err().unwrap();
        assert_eq!(
            err.to_string(),
            "line 3 of the identity file is not an age identity"
        );
        assert!(!format!("{err:?}").contains("HZLH"));
    }

    #[test]
    fn a_hybrid_identity_opens_its_files_from_a_mixed_identity_file() {
        use age::secrecy::ExposeSecret;
        let pq = hybrid::tests::CCTV_IDENTITY;
        let x25519 = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        // The hybrid line between X25519 ones, and in lower case (Bech32 allows it).
        let text = format!(
            "# created: now\n{}\n\n# post-quantum\n{}\n{}\n",
            x25519.to_string().expose_secret(),
            pq.to_lowercase(),
            other.to_string().expose_secret(),
        );
        let key = Key::Identities(Identities::parse(&text).unwrap());
        assert_eq!(key_count(&key), 3);
        let recipient = hybrid::tests::TestRecipient::of(pq);
        for armor in [false, true] {
            let mut out = Vec::new();
            let format = if armor {
                Format::AsciiArmor
            } else {
                Format::Binary
            };
            let mut w = Encryptor::with_recipients(std::iter::once(&recipient as _))
                .unwrap()
                .wrap_output(ArmoredWriter::wrap_output(&mut out, format).unwrap())
                .unwrap();
            w.write_all(b"post-quantum export").unwrap();
            w.finish().unwrap().finish().unwrap();
            let mut plain = Vec::new();
            open(&out[..], &key)
                .unwrap()
                .read_to_end(&mut plain)
                .unwrap();
            assert_eq!(plain, b"post-quantum export");
        }
        // Without the hybrid identity, the file does not open.
        let mut out = Vec::new();
        let mut w = Encryptor::with_recipients(std::iter::once(&recipient as _))
            .unwrap()
            .wrap_output(&mut out)
            .unwrap();
        w.write_all(b"x").unwrap();
        w.finish().unwrap();
        let only_x25519 =
            Key::Identities(Identities::parse(x25519.to_string().expose_secret()).unwrap());
        assert!(matches!(
            open(&out[..], &only_x25519),
            Err(Error::NoMatch(_))
        ));
    }

    fn key_count(key: &Key) -> usize {
        match key {
            Key::Identities(ids) => ids.0.len(),
            Key::Passphrase(_) => 0,
        }
    }
}
