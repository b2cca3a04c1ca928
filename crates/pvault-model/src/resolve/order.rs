//! Sides and the order of writes: the timestamp rule and device ranking.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use pvault_crypto::Classification;
use serde_json::Value;

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Local,
    Remote,
}

impl Side {
    pub(crate) fn other(self) -> Side {
        match self {
            Side::Local => Side::Remote,
            Side::Remote => Side::Local,
        }
    }

    pub(crate) fn keep(self) -> Decision {
        match self {
            Side::Local => Decision::KeepLocal,
            Side::Remote => Decision::KeepRemote,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Local => "local",
            Side::Remote => "remote",
        })
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Sides<'a> {
    pub(crate) local: &'a Version,
    pub(crate) remote: &'a Version,
}

impl<'a> Sides<'a> {
    pub(crate) fn get(self, side: Side) -> &'a Version {
        match side {
            Side::Local => self.local,
            Side::Remote => self.remote,
        }
    }
}

/// Which side wins, and why (a short phrase for `dropped`).
#[derive(Clone, Copy)]
pub(crate) struct Pick {
    pub(crate) winner: Side,
    pub(crate) why: &'static str,
}

/// The timestamp rule: a total order on versions that ignores which side is local.
pub(crate) fn by_timestamp(local: &Version, remote: &Version) -> Pick {
    let (order, why) = match local.revision.cmp(&remote.revision) {
        Ordering::Equal => match local.device.cmp(&remote.device) {
            Ordering::Equal => (
                content_key(local).cmp(&content_key(remote)),
                "same revision and device, content order",
            ),
            order => (order, "same revision, greater device id"),
        },
        order => (order, "later revision"),
    };
    Pick {
        winner: if order == Ordering::Greater {
            Side::Local
        } else {
            Side::Remote
        },
        why,
    }
}

pub(crate) fn content_key(v: &Version) -> (Option<String>, Classification) {
    (v.data.as_ref().map(canonical), v.classification)
}

pub(crate) fn by_priority(ctx: &Context<'_>, local: &Version, remote: &Version) -> Pick {
    let rank = |device: &str| {
        ctx.device_rank
            .iter()
            .position(|d| d == device)
            .unwrap_or(ctx.device_rank.len())
    };
    match rank(&local.device).cmp(&rank(&remote.device)) {
        Ordering::Less => Pick {
            winner: Side::Local,
            why: "better-ranked device",
        },
        Ordering::Greater => Pick {
            winner: Side::Remote,
            why: "better-ranked device",
        },
        Ordering::Equal => {
            let pick = by_timestamp(local, remote);
            Pick {
                winner: pick.winner,
                why: match pick.why {
                    "later revision" => "same device rank, later revision",
                    "same revision, greater device id" => {
                        "same device rank and revision, greater device id"
                    }
                    _ => "same device rank, revision and device, content order",
                },
            }
        }
    }
}

/// JSON with object keys sorted at every level: the same value always gives the same text.
pub(crate) fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

pub(crate) fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, &Value> = map.iter().collect();
            out.push('{');
            for (i, (key, value)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}
