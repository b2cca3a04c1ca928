//! The binary messages that carry records: a push, its result, and a page of a pull.
//!
//! Every message starts with `"PVS"`, the protocol version and a type byte; numbers are LEB128
//! varints (canonical form only), record keys 16 bytes, hashes 32 bytes, blobs length-prefixed. A
//! decoder accepts exactly one encoding of each message and checks every length against the input
//! before it allocates. The layout is in `docs/sync.md`.

use crate::api::Checkpoints;
use crate::chain::ChainHead;
use crate::{PROTOCOL_VERSION, ProtoError, Result, Rid};
use pvault_codec::{Reader, Writer};

/// Largest blob (one sealed record) accepted anywhere.
pub const MAX_BLOB: usize = 4 << 20;
/// Most items in one push or one page.
pub const MAX_ITEMS: usize = 10_000;
/// Largest message accepted by the decoders (the server may set a lower limit).
pub const MAX_MESSAGE: usize = 64 << 20;
/// Largest checkpoints section of a pull page (the JSON of every device's checkpoint and proof).
pub const MAX_CHECKPOINTS: usize = 4 << 20;

const MAGIC: &[u8; 3] = b"PVS";
/// Type byte of a [`PushRequest`].
pub const TYPE_PUSH: u8 = 1;
/// Type byte of a [`PushResult`].
pub const TYPE_PUSH_RESULT: u8 = 2;
/// Type byte of a [`PullPage`].
pub const TYPE_PULL_PAGE: u8 = 3;

/// Content type of every binary message.
pub const CONTENT_TYPE: &str = "application/vnd.pvault.sync.v1";

/// One record a device sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushItem {
    /// The record's key.
    pub rid: Rid,
    /// The sequence number of the server version this edit is based on (0: the device knows of none).
    pub base_seq: u64,
    /// The record is deleted (the blob is the sealed tombstone).
    pub tombstone: bool,
    /// The sealed record.
    pub blob: Vec<u8>,
}

/// A batch of records to apply, all or per item (see [`PushResult`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushRequest {
    pub items: Vec<PushItem>,
}

/// The server's current version of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteRecord {
    pub rid: Rid,
    /// Sequence number of this version.
    pub seq: u64,
    pub tombstone: bool,
    pub blob: Vec<u8>,
}

/// What became of a push: items whose base matched were applied in one transaction and got new
/// sequence numbers; the others are answered with the server's current version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushResult {
    /// The log's head after the push.
    pub head: ChainHead,
    /// Applied items, in request order: key and new sequence number.
    pub applied: Vec<(Rid, u64)>,
    /// Items not applied, with the version they conflict with.
    pub conflicts: Vec<RemoteRecord>,
}

/// One entry of the change log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub seq: u64,
    pub rid: Rid,
    pub tombstone: bool,
    /// SHA-256 of the blob of this change (chained).
    pub blob_hash: [u8; 32],
    /// The blob, when this change is still the record's current version; `None` when a later change
    /// superseded it (that change is further on in the log).
    pub blob: Option<Vec<u8>>,
}

/// A page of the log after `since`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullPage {
    /// The requested starting point (exclusive).
    pub since: u64,
    /// Changes with `since < seq`, in order, without gaps.
    pub changes: Vec<Change>,
    /// The chain head after the last change of this page (equal to `since`'s head when empty).
    pub end: ChainHead,
    /// More changes follow: ask again with `since = end.seq`.
    pub more: bool,
    /// Asked for with `&checkpoints=1`, on the last page only: every device's latest checkpoint,
    /// each other device's with the consistency proof to `end.seq` (what `GET checkpoints?to=`
    /// `end.seq` answers), so a sync checks its peers without a request of its own.
    pub checkpoints: Option<Checkpoints>,
}

/// A writer with the header of a message of type `kind`, and room for `body` more bytes.
fn start(kind: u8, body: usize) -> Writer {
    let mut w = Writer::with_capacity(MAGIC.len() + 2 + body);
    w.raw(MAGIC);
    w.u8(PROTOCOL_VERSION);
    w.u8(kind);
    w
}

fn open(bytes: &[u8], kind: u8) -> Result<Reader<'_>> {
    if bytes.len() > MAX_MESSAGE {
        return Err(ProtoError::TooLarge("message"));
    }
    let mut r = Reader::new(bytes);
    if &r.array::<3>("magic")? != MAGIC {
        return Err(ProtoError::BadMagic);
    }
    let v = r.u8("version")?;
    if v != PROTOCOL_VERSION {
        return Err(ProtoError::Version(v));
    }
    let t = r.u8("message type")?;
    if t != kind {
        return Err(ProtoError::WrongType {
            expected: kind,
            found: t,
        });
    }
    Ok(r)
}

fn flag(r: &mut Reader<'_>, what: &'static str, max: u8) -> Result<u8> {
    let f = r.u8(what)?;
    if f > max {
        return Err(ProtoError::Invalid(what));
    }
    Ok(f)
}

fn put_head(w: &mut Writer, h: &ChainHead) {
    w.varint(h.seq);
    w.raw(&h.hash);
}

fn get_head(r: &mut Reader<'_>) -> Result<ChainHead> {
    Ok(ChainHead {
        seq: r.varint("head sequence")?,
        hash: r.array("head hash")?,
    })
}

impl PushRequest {
    /// Encodes the request.
    pub fn encode(&self) -> Vec<u8> {
        let size: usize = self.items.iter().map(|i| i.blob.len() + 32).sum();
        let mut w = start(TYPE_PUSH, size + 8);
        w.varint(self.items.len() as u64);
        for i in &self.items {
            w.raw(&i.rid);
            w.varint(i.base_seq);
            w.u8(u8::from(i.tombstone));
            w.varint_bytes(&i.blob);
        }
        w.into_inner()
    }

    /// Decodes and checks a request.
    pub fn decode(bytes: &[u8]) -> Result<PushRequest> {
        let mut r = open(bytes, TYPE_PUSH)?;
        let n = r.count("push items", MAX_ITEMS, 19)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            let rid = r.array("record key")?;
            let base_seq = r.varint("base sequence")?;
            let tombstone = flag(&mut r, "tombstone flag", 1)? == 1;
            let blob = r.varint_bytes("blob", MAX_BLOB)?.to_vec();
            items.push(PushItem {
                rid,
                base_seq,
                tombstone,
                blob,
            });
        }
        r.finish()?;
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        if !items.iter().all(|i| seen.insert(i.rid)) {
            return Err(ProtoError::Invalid("push: one record twice in a batch"));
        }
        Ok(PushRequest { items })
    }
}

impl PushResult {
    /// Encodes the result.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = start(TYPE_PUSH_RESULT, 0);
        put_head(&mut w, &self.head);
        w.varint(self.applied.len() as u64);
        for (rid, seq) in &self.applied {
            w.raw(rid);
            w.varint(*seq);
        }
        w.varint(self.conflicts.len() as u64);
        for c in &self.conflicts {
            w.raw(&c.rid);
            w.varint(c.seq);
            w.u8(u8::from(c.tombstone));
            w.varint_bytes(&c.blob);
        }
        w.into_inner()
    }

    /// Decodes a result.
    pub fn decode(bytes: &[u8]) -> Result<PushResult> {
        let mut r = open(bytes, TYPE_PUSH_RESULT)?;
        let head = get_head(&mut r)?;
        let n = r.count("applied items", MAX_ITEMS, 17)?;
        let mut applied = Vec::with_capacity(n);
        for _ in 0..n {
            applied.push((r.array("record key")?, r.varint("sequence")?));
        }
        let n = r.count("conflicts", MAX_ITEMS, 19)?;
        let mut conflicts = Vec::with_capacity(n);
        for _ in 0..n {
            conflicts.push(RemoteRecord {
                rid: r.array("record key")?,
                seq: r.varint("sequence")?,
                tombstone: flag(&mut r, "tombstone flag", 1)? == 1,
                blob: r.varint_bytes("blob", MAX_BLOB)?.to_vec(),
            });
        }
        r.finish()?;
        Ok(PushResult {
            head,
            applied,
            conflicts,
        })
    }
}

impl PullPage {
    /// Encodes the page.
    pub fn encode(&self) -> Vec<u8> {
        let size: usize = self
            .changes
            .iter()
            .map(|c| c.blob.as_ref().map_or(0, Vec::len) + 64)
            .sum();
        let mut w = start(TYPE_PULL_PAGE, size + 64);
        w.varint(self.since);
        put_head(&mut w, &self.end);
        w.u8(u8::from(self.more) | (u8::from(self.checkpoints.is_some()) << 1));
        w.varint(self.changes.len() as u64);
        for c in &self.changes {
            w.varint(c.seq);
            w.raw(&c.rid);
            w.u8(u8::from(c.tombstone) | (u8::from(c.blob.is_some()) << 1));
            w.raw(&c.blob_hash);
            if let Some(b) = &c.blob {
                w.varint_bytes(b);
            }
        }
        if let Some(c) = &self.checkpoints {
            w.varint_bytes(&serde_json::to_vec(c).expect("checkpoints serialize"));
        }
        w.into_inner()
    }

    /// Decodes a page and checks its shape: sequence numbers follow `since` without gaps, `end` is the
    /// last of them, and every blob sent matches its hash. (The chain itself is the caller's to check
    /// against the head it knows; see [`crate::chain`].)
    pub fn decode(bytes: &[u8]) -> Result<PullPage> {
        let mut r = open(bytes, TYPE_PULL_PAGE)?;
        let since = r.varint("since")?;
        let end = get_head(&mut r)?;
        let flags = flag(&mut r, "page flags", 3)?;
        let more = flags & 1 != 0;
        let n = r.count("changes", MAX_ITEMS, 50)?;
        let mut changes = Vec::with_capacity(n);
        let mut expect = since;
        for _ in 0..n {
            let seq = r.varint("sequence")?;
            expect = expect
                .checked_add(1)
                .ok_or(ProtoError::Invalid("sequence"))?;
            if seq != expect {
                return Err(ProtoError::Invalid(
                    "pull page: sequence numbers have a gap",
                ));
            }
            let rid = r.array("record key")?;
            let flags = flag(&mut r, "change flags", 3)?;
            let blob_hash = r.array("blob hash")?;
            let blob = if flags & 2 != 0 {
                let b = r.varint_bytes("blob", MAX_BLOB)?;
                if crate::chain::blob_hash(b) != blob_hash {
                    return Err(ProtoError::Invalid(
                        "pull page: blob does not match its hash",
                    ));
                }
                Some(b.to_vec())
            } else {
                None
            };
            changes.push(Change {
                seq,
                rid,
                tombstone: flags & 1 != 0,
                blob_hash,
                blob,
            });
        }
        let checkpoints = if flags & 2 != 0 {
            let json = r.varint_bytes("checkpoints", MAX_CHECKPOINTS)?;
            let c: Checkpoints = serde_json::from_slice(json)
                .map_err(|_| ProtoError::Invalid("pull page: checkpoints are not valid JSON"))?;
            // One encoding only: the compact JSON the server writes.
            if serde_json::to_vec(&c).ok().as_deref() != Some(json) {
                return Err(ProtoError::Invalid(
                    "pull page: checkpoints are not in their one encoding",
                ));
            }
            Some(c)
        } else {
            None
        };
        r.finish()?;
        if end.seq != expect {
            return Err(ProtoError::Invalid("pull page: end is not its last change"));
        }
        Ok(PullPage {
            since,
            changes,
            end,
            more,
            checkpoints,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::blob_hash;

    fn item(n: u8) -> PushItem {
        PushItem {
            rid: [n; 16],
            base_seq: u64::from(n) * 1000,
            tombstone: n.is_multiple_of(2),
            blob: vec![n; usize::from(n) * 10],
        }
    }

    #[test]
    fn push_round_trips_and_refuses_a_record_twice() {
        let req = PushRequest {
            items: (1..20).map(item).collect(),
        };
        let bytes = req.encode();
        assert_eq!(PushRequest::decode(&bytes).unwrap(), req);
        let twice = PushRequest {
            items: vec![item(1), item(1)],
        };
        assert!(matches!(
            PushRequest::decode(&twice.encode()),
            Err(ProtoError::Invalid(_))
        ));
    }

    #[test]
    fn every_truncation_of_a_message_is_an_error() {
        let bytes = PushRequest {
            items: (1..4).map(item).collect(),
        }
        .encode();
        for cut in 0..bytes.len() {
            assert!(PushRequest::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(
            PushRequest::decode(&extra),
            Err(ProtoError::TrailingBytes(1))
        );
    }

    #[test]
    fn header_is_checked() {
        let mut bytes = PushRequest::default().encode();
        assert!(matches!(
            PushResult::decode(&bytes),
            Err(ProtoError::WrongType { .. })
        ));
        bytes[3] = 9;
        assert_eq!(PushRequest::decode(&bytes), Err(ProtoError::Version(9)));
        bytes[0] = b'X';
        assert_eq!(PushRequest::decode(&bytes), Err(ProtoError::BadMagic));
    }

    /// Messages encoded before the codec moved to pvault-codec, byte for byte (hex).
    #[test]
    fn encodings_are_the_bytes_sent_before() {
        let push = PushRequest {
            items: vec![
                PushItem {
                    rid: [1; 16],
                    base_seq: 0,
                    tombstone: false,
                    blob: b"sealed".to_vec(),
                },
                PushItem {
                    rid: [2; 16],
                    base_seq: 300,
                    tombstone: true,
                    blob: vec![],
                },
            ],
        };
        let push_hex = "505653010102010101010101010101010101010101010000067365616c656402\
                    020202020202020202020202020202ac020100";
        assert_eq!(hex::encode(push.encode()), push_hex);
        assert_eq!(
            PushRequest::decode(&hex::decode(push_hex).unwrap()).unwrap(),
            push
        );

        let result = PushResult {
            head: ChainHead {
                seq: 77,
                hash: [9; 32],
            },
            applied: vec![([1; 16], 76), ([2; 16], 77)],
            conflicts: vec![RemoteRecord {
                rid: [3; 16],
                seq: 128,
                tombstone: true,
                blob: b"sealed".to_vec(),
            }],
        };
        let result_hex = "50565301024d0909090909090909090909090909090909090909090909090909\
                      09090909090902010101010101010101010101010101014c0202020202020202\
                      02020202020202024d0103030303030303030303030303030303800101067365\
                      616c6564";
        assert_eq!(hex::encode(result.encode()), result_hex);

        let g = ChainHead::genesis(&[1; 16]);
        let n1 = g.next(1, &[3; 16], false, &blob_hash(b"x"));
        let n2 = n1.next(2, &[4; 16], true, &blob_hash(b""));
        let page = PullPage {
            since: 10,
            changes: vec![
                Change {
                    seq: 11,
                    rid: [5; 16],
                    tombstone: false,
                    blob_hash: blob_hash(b"a"),
                    blob: Some(b"a".to_vec()),
                },
                Change {
                    seq: 12,
                    rid: [6; 16],
                    tombstone: true,
                    blob_hash: blob_hash(b"old"),
                    blob: None,
                },
            ],
            end: ChainHead {
                seq: 12,
                hash: n2.hash,
            },
            more: true,
            checkpoints: None,
        };
        let page_hex = "50565301030a0c2de4ca5a563d2f9cf1a286d744b192b2f72a38e83b1076caba\
                    923a49f20c4df701020b0505050505050505050505050505050502ca978112ca\
                    1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb01610c0606\
                    060606060606060606060606060601cba06b5736faf67e54b07b561eae94395e\
                    774c517a7d910a54369e1263ccfbd4";
        assert_eq!(hex::encode(page.encode()), page_hex);
        assert_eq!(
            PullPage::decode(&hex::decode(page_hex).unwrap()).unwrap(),
            page
        );
    }

    #[test]
    fn push_result_round_trips() {
        let res = PushResult {
            head: ChainHead {
                seq: 77,
                hash: [9; 32],
            },
            applied: vec![([1; 16], 76), ([2; 16], 77)],
            conflicts: vec![RemoteRecord {
                rid: [3; 16],
                seq: 12,
                tombstone: true,
                blob: b"sealed".to_vec(),
            }],
        };
        assert_eq!(PushResult::decode(&res.encode()).unwrap(), res);
    }

    #[test]
    fn pull_page_round_trips_and_checks_sequence_and_hashes() {
        let change = |seq: u64, blob: Option<&[u8]>| Change {
            seq,
            rid: [seq as u8; 16],
            tombstone: false,
            blob_hash: blob_hash(blob.unwrap_or(b"old")),
            blob: blob.map(<[u8]>::to_vec),
        };
        let page = PullPage {
            since: 10,
            changes: vec![
                change(11, Some(b"a")),
                change(12, None),
                change(13, Some(b"")),
            ],
            end: ChainHead {
                seq: 13,
                hash: [1; 32],
            },
            more: true,
            checkpoints: None,
        };
        assert_eq!(PullPage::decode(&page.encode()).unwrap(), page);

        let mut gap = page.clone();
        gap.changes.remove(1);
        assert!(PullPage::decode(&gap.encode()).is_err());
        let mut wrong_end = page.clone();
        wrong_end.end.seq = 14;
        assert!(PullPage::decode(&wrong_end.encode()).is_err());
        let mut forged = page.clone();
        forged.changes[0].blob = Some(b"b".to_vec());
        assert!(PullPage::decode(&forged.encode()).is_err());
        let empty = PullPage {
            since: 5,
            changes: vec![],
            end: ChainHead {
                seq: 5,
                hash: [0; 32],
            },
            more: false,
            checkpoints: None,
        };
        assert_eq!(PullPage::decode(&empty.encode()).unwrap(), empty);
    }

    #[test]
    fn pull_page_carries_checkpoints_when_asked() {
        use crate::api::{DeviceCheckpoint, TreeProof};
        let page = PullPage {
            since: 5,
            changes: vec![],
            end: ChainHead {
                seq: 5,
                hash: [0; 32],
            },
            more: false,
            checkpoints: Some(Checkpoints {
                checkpoints: vec![DeviceCheckpoint {
                    device_id: "ab".repeat(16),
                    note: "origin\n3\nroot\n\n— key sig\n".into(),
                    updated_at: 7,
                    proof: Some(TreeProof {
                        from: 3,
                        to: 5,
                        root_from: "00".repeat(32),
                        root_to: "11".repeat(32),
                        proof: vec!["22".repeat(32)],
                    }),
                }],
            }),
        };
        let bytes = page.encode();
        assert_eq!(PullPage::decode(&bytes).unwrap(), page);
        // The section is the message's last field: a cut or a stray byte after it is refused.
        assert!(PullPage::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(PullPage::decode(&longer).is_err());
        // Not JSON of the checkpoints: refused, not ignored.
        let mut bad = page.clone();
        bad.checkpoints = None;
        // magic, version, type, since (1 byte), end seq (1 byte), end hash, then the flags.
        let flags_at = 3 + 1 + 1 + 1 + 1 + 32;
        let mut bytes = bad.encode();
        assert_eq!(bytes[flags_at], 0);
        bytes[flags_at] = 2;
        bytes.extend_from_slice(&[2, b'{', b'}']);
        assert!(PullPage::decode(&bytes).is_err());
        // The same checkpoints in another JSON form (spaces) are refused: one encoding only.
        let json = serde_json::to_string(page.checkpoints.as_ref().unwrap()).unwrap();
        let spaced = json.replacen(":", ": ", 1);
        let mut bytes = bad.encode();
        bytes[flags_at] = 2;
        let varint = |n: usize| -> Vec<u8> {
            let mut w = Writer::with_capacity(4);
            w.varint(n as u64);
            w.into_inner()
        };
        bytes.extend_from_slice(&varint(spaced.len()));
        bytes.extend_from_slice(spaced.as_bytes());
        assert!(PullPage::decode(&bytes).is_err());
        let mut bytes = bad.encode();
        bytes[flags_at] = 2;
        bytes.extend_from_slice(&varint(json.len()));
        bytes.extend_from_slice(json.as_bytes());
        assert!(
            PullPage::decode(&bytes).is_ok(),
            "the compact form is the one"
        );
    }
}
