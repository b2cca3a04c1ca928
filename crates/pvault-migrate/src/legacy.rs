//! The legacy "enhanced database" dump: JSON Lines written by the TypeScript app pvault replaces.
//!
//! Line 1 is the header `{"format":"enhanced-database-dump","version":1,"exported_at":"…"}`;
//! every other non-blank line is `{"table":"<name>","row":{…}}`, a row in the legacy app's
//! camelCase fields. Each table maps onto one of pvault's built-in collections (the mapping is
//! in `docs/migration.md`). Only what the mapping needs is checked here (required fields,
//! JSON types, timestamps, statuses); the collections' schemas are checked by the importer.
//!
//! [`generate`] writes a realistic dump, for tests and benchmarks.

use serde_json::{Map, Value, json};

use crate::common::{self, json_type, malformed};
use crate::{Error, Item, Parsed, Result, Skipped};

/// The header's format name.
pub(crate) const FORMAT_NAME: &str = "enhanced-database-dump";
const WHAT: &str = "enhanced database dump";
const EXPECTED: &str = "an enhanced database dump";
const SUPPORTED: &str = "1";
const TABLES: &str = "transactions, breakthroughs, blocks, api_keys, settings, research";

pub(crate) fn read(bytes: &[u8]) -> Result<Parsed> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::NotFormat {
        expected: EXPECTED,
        problem: format!("the file is not UTF-8 (at byte {})", e.valid_up_to()),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    header(lines.next().unwrap_or(""))?;
    let mut parsed = Parsed::default();
    for (index, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        row_line(index + 2, line, &mut parsed)?;
    }
    Ok(parsed)
}

fn not_format(problem: impl Into<String>) -> Error {
    Error::NotFormat {
        expected: EXPECTED,
        problem: problem.into(),
    }
}

fn header(line: &str) -> Result<()> {
    if line.trim().is_empty() {
        return Err(not_format(
            "line 1 is empty; it should be the dump's header",
        ));
    }
    let value: Value = serde_json::from_str(line)
        .map_err(|e| not_format(format!("line 1 is not JSON (at column {})", e.column())))?;
    let Some(header) = value.as_object() else {
        return Err(not_format("line 1 is not a JSON object"));
    };
    match header.get("format") {
        Some(Value::String(name)) if name == FORMAT_NAME => {}
        Some(_) => {
            return Err(not_format(format!(
                "line 1's 'format' is not \"{FORMAT_NAME}\""
            )));
        }
        None => return Err(not_format("line 1 has no 'format'")),
    }
    let at = "line 1 (header)";
    match header.get("version") {
        Some(v) if v.as_u64() == Some(1) => {}
        Some(v) => {
            let version: String = v.to_string().chars().take(20).collect();
            return Err(Error::Version {
                what: WHAT,
                version,
                supported: SUPPORTED,
            });
        }
        None => return Err(malformed(at, "missing field 'version'")),
    }
    match header.get("exported_at") {
        Some(Value::String(t)) if common::rfc3339_utc(t).is_some() => Ok(()),
        Some(_) => Err(malformed(
            at,
            "field 'exported_at' must be an RFC 3339 timestamp",
        )),
        None => Err(malformed(at, "missing field 'exported_at'")),
    }
}

fn row_line(number: usize, line: &str, parsed: &mut Parsed) -> Result<()> {
    let at_line = format!("line {number}");
    let value: Value = serde_json::from_str(line).map_err(|e| {
        malformed(
            &at_line,
            format!("not valid JSON (at column {})", e.column()),
        )
    })?;
    let Value::Object(object) = value else {
        return Err(malformed(&at_line, "not a JSON object"));
    };
    if let Some(key) = object.keys().find(|k| *k != "table" && *k != "row") {
        return Err(malformed(
            &at_line,
            format!(
                "unexpected field '{}': a line holds only 'table' and 'row'",
                common::shown_title(key)
            ),
        ));
    }
    let table = match object.get("table") {
        Some(Value::String(t)) => t.as_str(),
        Some(other) => {
            return Err(malformed(
                &at_line,
                format!("field 'table' must be a string, got {}", json_type(other)),
            ));
        }
        None => return Err(malformed(&at_line, "missing field 'table'")),
    };
    let Some(spec) = TABLE_SPECS.iter().find(|s| s.name == table) else {
        return Err(malformed(
            &at_line,
            format!("unknown table; expected one of {TABLES}"),
        ));
    };
    let at = format!("line {number} ({table})");
    let row = match object.get("row") {
        Some(Value::Object(row)) => row,
        Some(other) => {
            return Err(malformed(
                &at,
                format!("field 'row' must be an object, got {}", json_type(other)),
            ));
        }
        None => return Err(malformed(&at, "missing field 'row'")),
    };
    let row = Row { at: &at, row };
    let (id, data) = (spec.map)(&row)?;
    let unknown: Vec<String> = row
        .row
        .keys()
        .filter(|k| !spec.fields.contains(&k.as_str()))
        .map(|k| format!("'{}'", common::shown_title(k)))
        .collect();
    if !unknown.is_empty() {
        parsed.skipped.push(Skipped {
            source: at.clone(),
            reason: format!("fields not migrated: {}", unknown.join(", ")),
        });
    }
    parsed.items.push(Item {
        source: at,
        collection: spec.collection.to_owned(),
        id,
        data: Value::Object(data),
    });
    Ok(())
}

type Mapped = (Option<String>, Map<String, Value>);

/// One legacy table: its name, the collection it goes to, the row fields it knows, its mapping.
struct TableSpec {
    name: &'static str,
    collection: &'static str,
    fields: &'static [&'static str],
    map: fn(&Row) -> Result<Mapped>,
}

const TABLE_SPECS: [TableSpec; 6] = [
    TableSpec {
        name: "transactions",
        collection: "transactions",
        fields: &[
            "id",
            "amount",
            "currency",
            "fromAddress",
            "toAddress",
            "timestamp",
            "status",
            "fee",
            "txHash",
            "memo",
            "tags",
        ],
        map: transaction,
    },
    TableSpec {
        name: "breakthroughs",
        collection: "breakthroughs",
        fields: &[
            "id",
            "title",
            "description",
            "researcher",
            "attribution",
            "classification",
            "tags",
            "references",
        ],
        map: breakthrough,
    },
    TableSpec {
        name: "blocks",
        collection: "blocks",
        fields: &[
            "height",
            "hash",
            "previousHash",
            "timestamp",
            "transactions",
            "nonce",
            "difficulty",
            "miner",
            "solvedBy",
        ],
        map: block,
    },
    TableSpec {
        name: "api_keys",
        collection: "api_keys",
        fields: &[
            "id",
            "service",
            "name",
            "key",
            "permissions",
            "expiresAt",
            "rotateEveryDays",
            "lastRotatedAt",
            "notes",
        ],
        map: api_key,
    },
    TableSpec {
        name: "settings",
        collection: "settings",
        fields: &["key", "value", "description"],
        map: setting,
    },
    TableSpec {
        name: "research",
        collection: "research",
        fields: &[
            "id",
            "title",
            "content",
            "tags",
            "links",
            "breakthroughId",
            "status",
        ],
        map: research,
    },
];

fn transaction(row: &Row) -> Result<Mapped> {
    let mut data = Map::new();
    data.insert("amount".into(), row.decimal("amount")?);
    put(&mut data, "asset", Some(row.string("currency")?));
    put(&mut data, "from", Some(row.string("fromAddress")?));
    put(&mut data, "to", Some(row.string("toAddress")?));
    put(&mut data, "time", Some(row.timestamp("timestamp")?));
    put(&mut data, "status", Some(row.status("status")?));
    if let Some(fee) = row.optional_decimal("fee")? {
        data.insert("fee".into(), fee);
    }
    put(&mut data, "memo", row.optional_string("memo")?);
    put(&mut data, "tx_hash", row.optional_string("txHash")?);
    put_list(&mut data, "tags", row.optional_strings("tags")?);
    Ok((row.record_id()?, data))
}

fn breakthrough(row: &Row) -> Result<Mapped> {
    let mut data = Map::new();
    put(&mut data, "title", Some(row.string("title")?));
    put(&mut data, "content", Some(row.string("description")?));
    put(&mut data, "researcher", Some(row.string("researcher")?));
    put(
        &mut data,
        "attribution",
        row.optional_string("attribution")?,
    );
    put(
        &mut data,
        "classification",
        row.optional_string("classification")?,
    );
    put_list(&mut data, "tags", row.optional_strings("tags")?);
    put_list(&mut data, "references", row.optional_strings("references")?);
    Ok((row.record_id()?, data))
}

fn block(row: &Row) -> Result<Mapped> {
    let mut data = Map::new();
    data.insert("height".into(), row.whole("height")?.into());
    put(&mut data, "hash", Some(row.string("hash")?));
    put(
        &mut data,
        "previous_hash",
        row.optional_string("previousHash")?,
    );
    put(&mut data, "timestamp", Some(row.timestamp("timestamp")?));
    put_list(&mut data, "transactions", row.optional_ids("transactions")?);
    if let Some(nonce) = row.optional_whole("nonce")? {
        data.insert("nonce".into(), nonce.into());
    }
    if let Some(difficulty) = row.optional_number("difficulty")? {
        data.insert("difficulty".into(), difficulty);
    }
    put(&mut data, "miner", row.optional_string("miner")?);
    put(&mut data, "solved_by", row.optional_string("solvedBy")?);
    Ok((None, data))
}

fn api_key(row: &Row) -> Result<Mapped> {
    let mut data = Map::new();
    put(&mut data, "provider", Some(row.string("service")?));
    put(&mut data, "name", Some(row.string("name")?));
    put(&mut data, "secret", Some(row.string("key")?));
    put_list(&mut data, "scopes", row.optional_strings("permissions")?);
    put(
        &mut data,
        "expires_at",
        row.optional_timestamp("expiresAt")?,
    );
    if let Some(days) = row.optional_whole("rotateEveryDays")? {
        data.insert("rotate_every_days".into(), days.into());
    }
    put(
        &mut data,
        "last_rotated_at",
        row.optional_timestamp("lastRotatedAt")?,
    );
    put(&mut data, "notes", row.optional_string("notes")?);
    Ok((row.record_id()?, data))
}

fn setting(row: &Row) -> Result<Mapped> {
    let key = row.string("key")?;
    // `value` may be any JSON, null included, but must be there.
    let value = row
        .row
        .get("value")
        .cloned()
        .ok_or_else(|| row.missing("value"))?;
    let mut data = Map::new();
    data.insert("value".into(), value);
    put(
        &mut data,
        "description",
        row.optional_string("description")?,
    );
    Ok((Some(key), data))
}

fn research(row: &Row) -> Result<Mapped> {
    let mut data = Map::new();
    put(&mut data, "title", Some(row.string("title")?));
    put(&mut data, "body", Some(row.string("content")?));
    put_list(&mut data, "tags", row.optional_strings("tags")?);
    put_list(&mut data, "links", row.optional_strings("links")?);
    put(
        &mut data,
        "breakthrough_id",
        row.optional_id("breakthroughId")?,
    );
    put(&mut data, "status", row.optional_string("status")?);
    Ok((row.record_id()?, data))
}

fn put(data: &mut Map<String, Value>, field: &str, value: Option<String>) {
    if let Some(value) = value {
        data.insert(field.to_owned(), Value::String(value));
    }
}

fn put_list(data: &mut Map<String, Value>, field: &str, values: Option<Vec<String>>) {
    if let Some(values) = values {
        data.insert(field.to_owned(), json!(values));
    }
}

/// A row being mapped, with where it is for errors.
struct Row<'a> {
    at: &'a str,
    row: &'a Map<String, Value>,
}

impl Row<'_> {
    /// The field, `null` counting as absent.
    fn get(&self, field: &str) -> Option<&Value> {
        self.row.get(field).filter(|v| !v.is_null())
    }

    fn missing(&self, field: &str) -> Error {
        malformed(self.at, format!("missing field '{field}'"))
    }

    fn wrong_type(&self, field: &str, expected: &str, got: &Value) -> Error {
        malformed(
            self.at,
            format!("field '{field}' must be {expected}, got {}", json_type(got)),
        )
    }

    fn required(&self, field: &str) -> Result<&Value> {
        self.get(field).ok_or_else(|| self.missing(field))
    }

    fn string(&self, field: &str) -> Result<String> {
        match self.required(field)? {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.wrong_type(field, "a string", other)),
        }
    }

    fn optional_string(&self, field: &str) -> Result<Option<String>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(common::non_empty(s)),
            Some(other) => Err(self.wrong_type(field, "a string", other)),
        }
    }

    /// A list of strings; an empty list (or one of only empty strings) is absent.
    fn optional_strings(&self, field: &str) -> Result<Option<Vec<String>>> {
        self.list(field, |value| match value {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
    }

    /// A list of ids, each a string or a whole number.
    fn optional_ids(&self, field: &str) -> Result<Option<Vec<String>>> {
        self.list(field, id_text)
    }

    fn list(
        &self,
        field: &str,
        element: impl Fn(&Value) -> Option<String>,
    ) -> Result<Option<Vec<String>>> {
        let items = match self.get(field) {
            None => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(self.wrong_type(field, "an array", other)),
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let text = element(item)
                .ok_or_else(|| self.wrong_type(&format!("{field}[{i}]"), "a string", item))?;
            out.extend(common::non_empty(&text));
        }
        Ok((!out.is_empty()).then_some(out))
    }

    /// An id: a string or a whole number, as text.
    fn optional_id(&self, field: &str) -> Result<Option<String>> {
        match self.get(field) {
            None => Ok(None),
            Some(value) => match id_text(value) {
                Some(text) => Ok(common::non_empty(&text)),
                None => Err(self.wrong_type(field, "a string or a whole number", value)),
            },
        }
    }

    /// The legacy `id` as the record id, when it is a valid pvault record id.
    fn record_id(&self) -> Result<Option<String>> {
        Ok(self
            .optional_id("id")?
            .filter(|id| common::is_record_id(id)))
    }

    /// A decimal amount: a JSON number or string, passed on for the schema to check.
    fn decimal(&self, field: &str) -> Result<Value> {
        match self.required(field)? {
            v @ (Value::Number(_) | Value::String(_)) => Ok(v.clone()),
            other => Err(self.wrong_type(field, "a number or a string", other)),
        }
    }

    fn optional_decimal(&self, field: &str) -> Result<Option<Value>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(_) => self.decimal(field).map(Some),
        }
    }

    /// A whole number ≥ 0: a JSON integer or a string of digits.
    fn whole(&self, field: &str) -> Result<u64> {
        let value = self.required(field)?;
        let whole = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        whole.ok_or_else(|| self.wrong_type(field, "a whole number ≥ 0", value))
    }

    fn optional_whole(&self, field: &str) -> Result<Option<u64>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(_) => self.whole(field).map(Some),
        }
    }

    /// A number (a JSON number, or a string holding one), as a JSON number.
    fn optional_number(&self, field: &str) -> Result<Option<Value>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(Some(Value::Number(n.clone()))),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(value @ Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(|n| Some(Value::Number(n)))
                .ok_or_else(|| self.wrong_type(field, "a number", value)),
            Some(other) => Err(self.wrong_type(field, "a number", other)),
        }
    }

    /// A time: milliseconds since the epoch (a JSON integer) or an RFC 3339 string, in UTC.
    fn timestamp(&self, field: &str) -> Result<String> {
        let value = self.required(field)?;
        let time = match value {
            Value::Number(n) => n.as_i64().and_then(common::millis_utc),
            Value::String(s) => common::rfc3339_utc(s),
            _ => None,
        };
        time.ok_or_else(|| {
            malformed(
                self.at,
                format!(
                    "field '{field}' must be milliseconds since 1970 or an RFC 3339 timestamp \
                     (years 0000 to 9999)"
                ),
            )
        })
    }

    fn optional_timestamp(&self, field: &str) -> Result<Option<String>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(_) => self.timestamp(field).map(Some),
        }
    }

    /// A legacy transaction status, as pvault's.
    fn status(&self, field: &str) -> Result<String> {
        let status = self.string(field)?;
        let mapped = match status.trim().to_ascii_lowercase().as_str() {
            "completed" | "success" | "confirmed" => "confirmed",
            "pending" => "pending",
            "failed" | "error" => "failed",
            "cancelled" | "canceled" => "cancelled",
            _ => {
                return Err(malformed(
                    self.at,
                    format!(
                        "field '{field}' is not a known status (completed, success, pending, \
                         failed, error, cancelled, canceled)"
                    ),
                ));
            }
        };
        Ok(mapped.to_owned())
    }
}

/// A string, or a whole number as text.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// A simple xorshift64 generator: the fixtures are deterministic, not random.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // Mix the seed so that nearby seeds differ, and never start at zero.
        let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        XorShift(if mixed == 0 { 1 } else { mixed })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True `percent` times in 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }

    fn hex(&mut self, digits: usize) -> String {
        (0..digits)
            .map(|_| char::from_digit(self.below(16) as u32, 16).unwrap_or('0'))
            .collect()
    }

    fn alphanumeric(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| char::from(CHARS[self.below(CHARS.len() as u64) as usize]))
            .collect()
    }

    fn uuid(&mut self) -> String {
        format!(
            "{}-{}-4{}-{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.hex(4),
            self.hex(12)
        )
    }

    /// Some distinct tags from `from`, possibly none.
    fn tags(&mut self, from: &[&str], percent: u64) -> Option<Vec<String>> {
        if !self.chance(percent) {
            return None;
        }
        let mut tags: Vec<String> = Vec::new();
        for _ in 0..=self.below(2) {
            let tag = self.pick(from).to_owned();
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Some(tags)
    }
}

/// 2021-01-01T00:00:00Z, in milliseconds.
const GENERATED_FROM_MS: i64 = 1_609_459_200_000;
/// Four years, in milliseconds.
const GENERATED_SPAN_MS: u64 = 4 * 365 * 24 * 3600 * 1000;

const CURRENCIES: &[&str] = &["BTC", "ETH", "USDC", "SOL", "eur", "DOT", "ARB"];
const STATUSES: &[&str] = &[
    "completed",
    "completed",
    "success",
    "pending",
    "failed",
    "error",
    "cancelled",
    "canceled",
];
const PEOPLE: &[&str] = &[
    "Dr. Ada Okafor",
    "Lin Wei",
    "María Fernández",
    "Jonas Berg",
    "Priya Raman",
    "Tomás Novák",
];
const TAGS: &[&str] = &[
    "treasury",
    "otc",
    "desk-a",
    "rebalance",
    "payroll",
    "defi",
    "research",
    "hedging",
];
const MEMOS: &[&str] = &[
    "monthly rebalance",
    "OTC settlement, see ticket",
    "gas top-up",
    "vendor invoice",
    "cold-storage sweep",
];
const TOPICS: &[&str] = &[
    "Momentum decay",
    "Funding-rate drift",
    "Mempool latency",
    "Nonce-space pruning",
    "Liquidity fragmentation",
    "Fee-market seasonality",
];
const DOMAINS: &[&str] = &[
    "perpetual futures",
    "L2 rollups",
    "proof-of-work mining",
    "stablecoin pools",
    "cross-chain bridges",
];
const SERVICES: &[&str] = &[
    "Binance",
    "Coinbase",
    "Kraken",
    "Alchemy",
    "Infura",
    "Etherscan",
];
const KEY_NAMES: &[&str] = &[
    "prod trading",
    "read-only reporting",
    "staging",
    "backtest data",
    "node RPC",
];
const SETTING_KEYS: &[&str] = &[
    "ui.theme",
    "ui.language",
    "sync.interval_seconds",
    "backup.retention_days",
    "network.rpc_url",
    "mining.worker_count",
    "notifications.email",
    "display.currency",
];

/// A deterministic legacy dump with `rows_per_table` rows in each of the six tables, realistic
/// values that the built-in schemas accept, and legacy quirks (ms and RFC 3339 times, number and
/// string amounts, legacy status names). The same `seed` gives the same text.
pub fn generate(rows_per_table: usize, seed: u64) -> String {
    let mut rng = XorShift::new(seed);
    let exported_at = common::millis_utc(GENERATED_FROM_MS + GENERATED_SPAN_MS as i64)
        .expect("a fixed time in range");
    // Written by hand so that `format` comes first, as the definition shows it.
    let mut out =
        format!(r#"{{"format":"{FORMAT_NAME}","version":1,"exported_at":"{exported_at}"}}"#);
    out.push('\n');
    let mut line = |table: &str, row: Value| {
        out.push_str(&json!({"table": table, "row": row}).to_string());
        out.push('\n');
    };
    let n = rows_per_table;
    let tx_ids: Vec<String> = (0..n).map(|_| rng.uuid()).collect();
    let breakthrough_ids: Vec<String> = (0..n).map(|i| format!("bt-{seed:x}-{i}")).collect();
    for id in &tx_ids {
        line("transactions", generated_transaction(&mut rng, id));
    }
    for id in &breakthrough_ids {
        line("breakthroughs", generated_breakthrough(&mut rng, id));
    }
    let mut previous_hash: Option<String> = None;
    let mut block_time = GENERATED_FROM_MS as u64;
    for height in 0..n {
        block_time += 1_000 * (30 + rng.below(600));
        let hash = rng.hex(64);
        let mut row = json!({"height": height, "hash": hash, "timestamp": block_time});
        if let Some(previous) = previous_hash.replace(hash) {
            row["previousHash"] = json!(previous);
        }
        if !tx_ids.is_empty() && rng.chance(70) {
            let count = 1 + rng.below(3) as usize;
            let ids: Vec<&String> = (0..count)
                .map(|_| &tx_ids[rng.below(tx_ids.len() as u64) as usize])
                .collect();
            row["transactions"] = json!(ids);
        }
        if rng.chance(80) {
            row["nonce"] = json!(rng.below(u64::from(u32::MAX)));
        }
        if rng.chance(80) {
            row["difficulty"] = json!(rng.below(10_000_000) as f64 / 16.0);
        }
        if rng.chance(70) {
            row["miner"] = json!(format!("0x{}", rng.hex(40)));
        }
        if rng.chance(40) {
            row["solvedBy"] = json!(format!("worker-{:02}", rng.below(32)));
        }
        line("blocks", row);
    }
    for i in 0..n {
        line("api_keys", generated_api_key(&mut rng, i));
    }
    for i in 0..n {
        line("settings", generated_setting(&mut rng, i));
    }
    for i in 0..n {
        line(
            "research",
            generated_research(&mut rng, i, seed, &breakthrough_ids),
        );
    }
    out
}

fn generated_time(rng: &mut XorShift) -> i64 {
    GENERATED_FROM_MS + rng.below(GENERATED_SPAN_MS) as i64
}

fn party(rng: &mut XorShift) -> String {
    if rng.chance(75) {
        format!("0x{}", rng.hex(40))
    } else {
        rng.pick(&["treasury", "exchange:kraken", "alice", "ops-wallet"])
            .to_owned()
    }
}

fn generated_transaction(rng: &mut XorShift, id: &str) -> Value {
    let amount = if rng.chance(50) {
        json!(format!("{}.{:04}", rng.below(50_000), rng.below(10_000)))
    } else {
        json!(rng.below(1_000_000) as f64 / 100.0)
    };
    let time = generated_time(rng);
    let timestamp = if rng.chance(70) {
        json!(time)
    } else {
        json!(common::millis_utc(time))
    };
    let mut row = json!({
        "id": id,
        "amount": amount,
        "currency": rng.pick(CURRENCIES),
        "fromAddress": party(rng),
        "toAddress": party(rng),
        "timestamp": timestamp,
        "status": rng.pick(STATUSES),
    });
    if rng.chance(60) {
        row["fee"] = json!(format!("0.{:06}", rng.below(100_000)));
    }
    if rng.chance(80) {
        row["txHash"] = json!(format!("0x{}", rng.hex(64)));
    }
    if rng.chance(30) {
        row["memo"] = json!(rng.pick(MEMOS));
    }
    if let Some(tags) = rng.tags(TAGS, 50) {
        row["tags"] = json!(tags);
    }
    row
}

fn generated_breakthrough(rng: &mut XorShift, id: &str) -> Value {
    let topic = rng.pick(TOPICS);
    let domain = rng.pick(DOMAINS);
    let mut row = json!({
        "id": id,
        "title": format!("{topic} in {domain}"),
        "description": format!(
            "{topic} in {domain} is measurable over {} blocks.\n\nMethod: rolling windows of {} \
             observations; effect size {}.{:02} sigma.",
            100 + rng.below(10_000),
            10 + rng.below(500),
            rng.below(5),
            rng.below(100)
        ),
        "researcher": rng.pick(PEOPLE),
    });
    if rng.chance(40) {
        row["attribution"] = json!(format!("with {}, Example Lab", rng.pick(PEOPLE)));
    }
    if rng.chance(50) {
        row["classification"] = json!(rng.pick(&["internal", "confidential", "secret"]));
    }
    if let Some(tags) = rng.tags(TAGS, 50) {
        row["tags"] = json!(tags);
    }
    if rng.chance(40) {
        row["references"] = json!([
            format!("doi:10.1000/{}", rng.below(100_000)),
            format!("https://arxiv.org/abs/2301.{:05}", rng.below(100_000)),
        ]);
    }
    row
}

fn generated_api_key(rng: &mut XorShift, i: usize) -> Value {
    let key_len = 24 + rng.below(40) as usize;
    let mut row = json!({
        "id": format!("key-{i}"),
        "service": rng.pick(SERVICES),
        "name": format!("{} {}", rng.pick(KEY_NAMES), i + 1),
        "key": rng.alphanumeric(key_len),
    });
    if rng.chance(70) {
        let scopes = match rng.below(3) {
            0 => json!(["read"]),
            1 => json!(["read", "trade"]),
            _ => json!(["read", "trade", "withdraw"]),
        };
        row["permissions"] = scopes;
    }
    if rng.chance(30) {
        let time = generated_time(rng) + GENERATED_SPAN_MS as i64;
        row["expiresAt"] = json!(common::millis_utc(time));
    }
    if rng.chance(50) {
        row["rotateEveryDays"] = json!([30, 60, 90][rng.below(3) as usize]);
    }
    if rng.chance(50) {
        row["lastRotatedAt"] = json!(generated_time(rng));
    }
    if rng.chance(20) {
        row["notes"] = json!("IP-restricted to the office range");
    }
    row
}

fn generated_setting(rng: &mut XorShift, i: usize) -> Value {
    let base = SETTING_KEYS[i % SETTING_KEYS.len()];
    let round = i / SETTING_KEYS.len();
    let key = if round == 0 {
        base.to_owned()
    } else {
        format!("{base}-{round}")
    };
    let value = match base {
        "ui.theme" => json!(rng.pick(&["dark", "light", "system"])),
        "ui.language" => json!(rng.pick(&["en", "de", "es", "zh"])),
        "sync.interval_seconds" => json!(30 * (1 + rng.below(20))),
        "backup.retention_days" => json!(7 * (1 + rng.below(12))),
        "network.rpc_url" => json!(format!("https://rpc{}.example.net", rng.below(9))),
        "mining.worker_count" => json!(1 + rng.below(64)),
        "notifications.email" => json!({"enabled": rng.chance(50), "digest": "daily"}),
        _ => json!(rng.pick(&["USD", "EUR", "BTC"])),
    };
    let mut row = json!({"key": key, "value": value});
    if rng.chance(50) {
        row["description"] = json!(format!("{base} (migrated from the legacy app)"));
    }
    row
}

fn generated_research(
    rng: &mut XorShift,
    i: usize,
    seed: u64,
    breakthrough_ids: &[String],
) -> Value {
    let topic = rng.pick(TOPICS);
    let mut row = json!({
        "id": format!("rn-{seed:x}-{i}"),
        "title": format!("Notes: {topic} ({})", i + 1),
        "content": format!(
            "Hypothesis: {topic} shows up in {}.\n- sample size {}\n- next: widen the window",
            rng.pick(DOMAINS),
            100 + rng.below(5_000)
        ),
    });
    if let Some(tags) = rng.tags(TAGS, 50) {
        row["tags"] = json!(tags);
    }
    if rng.chance(40) {
        row["links"] = json!([format!(
            "https://wiki.example.com/research/{}",
            rng.below(999)
        )]);
    }
    if !breakthrough_ids.is_empty() && rng.chance(50) {
        let linked = &breakthrough_ids[rng.below(breakthrough_ids.len() as u64) as usize];
        row["breakthroughId"] = json!(linked);
    }
    if rng.chance(70) {
        row["status"] = json!(rng.pick(&["draft", "active", "archived"]));
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        r#"{"format":"enhanced-database-dump","version":1,"exported_at":"2024-06-01T10:00:00Z"}"#;

    fn dump(rows: &[&str]) -> String {
        let mut text = format!("{HEADER}\n");
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        text
    }

    fn parse(rows: &[&str]) -> Result<Parsed> {
        read(dump(rows).as_bytes())
    }

    fn one(row: &str) -> Item {
        let parsed = parse(&[row]).unwrap();
        assert_eq!(parsed.items.len(), 1);
        parsed.items.into_iter().next().unwrap()
    }

    fn err(rows: &[&str]) -> String {
        parse(rows).unwrap_err().to_string()
    }

    #[test]
    fn maps_a_transaction() {
        let item = one(
            r#"{"table":"transactions","row":{"id":"tx-1","amount":12.5,"currency":"btc","fromAddress":"alice","toAddress":"bob","timestamp":1714566600000,"status":"completed","fee":"0.0001","txHash":"0xabc","memo":"","tags":["otc"]}}"#,
        );
        assert_eq!(item.source, "line 2 (transactions)");
        assert_eq!(item.collection, "transactions");
        assert_eq!(item.id.as_deref(), Some("tx-1"));
        assert_eq!(
            item.data,
            json!({"amount": 12.5, "asset": "btc", "from": "alice", "to": "bob",
                   "time": "2024-05-01T12:30:00Z", "status": "confirmed", "fee": "0.0001",
                   "tx_hash": "0xabc", "tags": ["otc"]})
        );
    }

    #[test]
    fn maps_legacy_statuses_and_string_times() {
        let row = |status: &str| {
            format!(
                r#"{{"table":"transactions","row":{{"amount":"1","currency":"ETH","fromAddress":"a","toAddress":"b","timestamp":"2024-05-01T14:30:00+02:00","status":"{status}"}}}}"#
            )
        };
        for (legacy, ours) in [
            ("completed", "confirmed"),
            ("Success", "confirmed"),
            ("pending", "pending"),
            ("failed", "failed"),
            ("error", "failed"),
            ("cancelled", "cancelled"),
            ("canceled", "cancelled"),
        ] {
            let item = one(&row(legacy));
            assert_eq!(item.data["status"], ours, "{legacy}");
            assert_eq!(item.data["time"], "2024-05-01T12:30:00Z");
            assert_eq!(item.id, None);
        }
        assert_eq!(
            err(&[&row("hunter2")]),
            "line 2 (transactions): field 'status' is not a known status (completed, success, \
             pending, failed, error, cancelled, canceled)"
        );
    }

    #[test]
    fn maps_a_breakthrough_and_research() {
        let item = one(
            r#"{"table":"breakthroughs","row":{"id":42,"title":"T","description":"D","researcher":"R","classification":"secret","references":["doi:1"],"attribution":null}}"#,
        );
        assert_eq!(item.id.as_deref(), Some("42"));
        assert_eq!(
            item.data,
            json!({"title": "T", "content": "D", "researcher": "R", "classification": "secret",
                   "references": ["doi:1"]})
        );
        let item = one(
            r#"{"table":"research","row":{"id":"has space","title":"N","content":"B","links":["https://x"],"breakthroughId":42,"status":"draft","tags":[]}}"#,
        );
        assert_eq!(item.id, None, "an id pvault cannot take is dropped");
        assert_eq!(
            item.data,
            json!({"title": "N", "body": "B", "links": ["https://x"], "breakthrough_id": "42",
                   "status": "draft"})
        );
    }

    #[test]
    fn maps_a_block() {
        let item = one(
            r#"{"table":"blocks","row":{"height":"7","hash":"00ff","previousHash":"00ee","timestamp":1000,"transactions":["tx-1",2],"nonce":99,"difficulty":"1.5","miner":"pool","solvedBy":"w1"}}"#,
        );
        assert_eq!(item.collection, "blocks");
        assert_eq!(item.id, None);
        assert_eq!(
            item.data,
            json!({"height": 7, "hash": "00ff", "previous_hash": "00ee",
                   "timestamp": "1970-01-01T00:00:01Z", "transactions": ["tx-1", "2"],
                   "nonce": 99, "difficulty": 1.5, "miner": "pool", "solved_by": "w1"})
        );
        assert_eq!(
            err(&[r#"{"table":"blocks","row":{"height":-1,"hash":"00","timestamp":0}}"#]),
            "line 2 (blocks): field 'height' must be a whole number ≥ 0, got number"
        );
    }

    #[test]
    fn maps_an_api_key_without_showing_it() {
        let item = one(
            r#"{"table":"api_keys","row":{"id":"k1","service":"Binance","name":"prod","key":"s3cret","permissions":["read","trade"],"expiresAt":"2030-01-01T00:00:00Z","rotateEveryDays":90,"lastRotatedAt":1714566600000,"notes":"n"}}"#,
        );
        assert_eq!(
            item.data,
            json!({"provider": "Binance", "name": "prod", "secret": "s3cret",
                   "scopes": ["read", "trade"], "expires_at": "2030-01-01T00:00:00Z",
                   "rotate_every_days": 90, "last_rotated_at": "2024-05-01T12:30:00Z",
                   "notes": "n"})
        );
        let e =
            err(&[r#"{"table":"api_keys","row":{"service":"x","name":"y","key":{"v":"s3cret"}}}"#]);
        assert_eq!(
            e,
            "line 2 (api_keys): field 'key' must be a string, got object"
        );
        assert!(!e.contains("s3cret"));
    }

    #[test]
    fn maps_a_setting_with_its_key_as_id() {
        let item = one(
            r#"{"table":"settings","row":{"key":"ui.theme","value":null,"description":"theme"}}"#,
        );
        assert_eq!(item.collection, "settings");
        assert_eq!(item.id.as_deref(), Some("ui.theme"));
        assert_eq!(item.data, json!({"value": null, "description": "theme"}));
        assert_eq!(
            err(&[r#"{"table":"settings","row":{"key":"a"}}"#]),
            "line 2 (settings): missing field 'value'"
        );
    }

    #[test]
    fn missing_and_mistyped_fields_are_malformed() {
        assert_eq!(
            err(&[
                "",
                r#"{"table":"transactions","row":{"amount":1,"currency":"BTC","toAddress":"b","timestamp":1,"status":"pending"}}"#
            ]),
            "line 3 (transactions): missing field 'fromAddress'"
        );
        assert_eq!(
            err(&[
                r#"{"table":"transactions","row":{"amount":true,"currency":"BTC","fromAddress":"a","toAddress":"b","timestamp":1,"status":"pending"}}"#
            ]),
            "line 2 (transactions): field 'amount' must be a number or a string, got boolean"
        );
        assert_eq!(
            err(&[r#"{"table":"research","row":{"title":"t","content":"c","tags":["a",3]}}"#]),
            "line 2 (research): field 'tags[1]' must be a string, got number"
        );
        assert!(
            err(&[
                r#"{"table":"research","row":{"title":"t","content":"c"}}"#,
                r#"{"table":"blocks","row":{"height":1,"hash":"h","timestamp":"yesterday"}}"#
            ])
            .starts_with("line 3 (blocks): field 'timestamp' must be milliseconds since 1970")
        );
    }

    #[test]
    fn bad_lines_are_malformed() {
        assert_eq!(
            err(&[r#"{"table":"wallets","row":{}}"#]),
            format!("line 2: unknown table; expected one of {TABLES}")
        );
        assert_eq!(
            err(&[r#"{"table":"settings","row":{"key":"a","value":1},"x":1}"#]),
            "line 2: unexpected field 'x': a line holds only 'table' and 'row'"
        );
        assert_eq!(
            err(&[r#"{"table":"settings","row":{"key":"pw"#]),
            "line 2: not valid JSON (at column 36)"
        );
        assert_eq!(err(&["[1]"]), "line 2: not a JSON object");
        assert_eq!(
            err(&[r#"{"table":"settings","row":[]}"#]),
            "line 2 (settings): field 'row' must be an object, got array"
        );
        assert_eq!(err(&[r#"{"row":{}}"#]), "line 2: missing field 'table'");
    }

    #[test]
    fn unknown_row_fields_are_reported_as_skipped() {
        let parsed = parse(&[
            r#"{"table":"settings","row":{"key":"a","value":1,"updatedAt":5,"createdAt":4}}"#,
        ])
        .unwrap();
        assert_eq!(parsed.items.len(), 1);
        assert_eq!(
            parsed.skipped,
            [Skipped {
                source: "line 2 (settings)".into(),
                reason: "fields not migrated: 'createdAt', 'updatedAt'".into(),
            }]
        );
    }

    #[test]
    fn checks_the_header() {
        let with_header = |h: &str| read(format!("{h}\n").as_bytes()).unwrap_err();
        assert!(matches!(
            with_header(r#"{"format":"other","version":1}"#),
            Error::NotFormat { .. }
        ));
        assert!(matches!(with_header("not json"), Error::NotFormat { .. }));
        assert!(matches!(read(b""), Err(Error::NotFormat { .. })));
        assert!(matches!(read(b"\xff\xfe"), Err(Error::NotFormat { .. })));
        match with_header(r#"{"format":"enhanced-database-dump","version":2}"#) {
            Error::Version { version, .. } => assert_eq!(version, "2"),
            other => panic!("{other}"),
        }
        assert_eq!(
            with_header(r#"{"format":"enhanced-database-dump","version":1}"#).to_string(),
            "line 1 (header): missing field 'exported_at'"
        );
        let bom = format!("\u{feff}{HEADER}\r\n\r\n");
        assert!(read(bom.as_bytes()).unwrap().items.is_empty());
    }

    #[test]
    fn generated_dumps_are_deterministic_and_read_back() {
        let text = generate(25, 7);
        assert_eq!(text, generate(25, 7));
        assert_ne!(text, generate(25, 8));
        let parsed = read(text.as_bytes()).unwrap();
        assert!(parsed.skipped.is_empty());
        assert_eq!(parsed.items.len(), 25 * 6);
        for collection in [
            "transactions",
            "breakthroughs",
            "blocks",
            "api_keys",
            "settings",
            "research",
        ] {
            let items: Vec<_> = parsed
                .items
                .iter()
                .filter(|i| i.collection == collection)
                .collect();
            assert_eq!(items.len(), 25, "{collection}");
            if collection != "blocks" {
                assert!(items.iter().all(|i| i.id.is_some()), "{collection}");
            }
        }
        let blocks: Vec<_> = parsed
            .items
            .iter()
            .filter(|i| i.collection == "blocks")
            .collect();
        assert!(blocks[0].data.get("previous_hash").is_none());
        assert_eq!(blocks[1].data["previous_hash"], blocks[0].data["hash"]);
        for item in &parsed.items {
            if item.collection == "transactions" {
                let asset = item.data["asset"].as_str().unwrap();
                assert!(asset.len() <= 16 && asset.chars().all(|c| c.is_ascii_alphanumeric()));
            }
        }
        let mut setting_ids: Vec<_> = parsed
            .items
            .iter()
            .filter(|i| i.collection == "settings")
            .map(|i| i.id.clone().unwrap())
            .collect();
        setting_ids.dedup();
        assert_eq!(setting_ids.len(), 25, "setting keys are distinct");
        assert_eq!(read(generate(0, 1).as_bytes()).unwrap().items.len(), 0);
    }
}
