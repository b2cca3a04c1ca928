//! The sync policy of a profile: `pvault profile set conflict-strategy | device-rank`.

use anyhow::{Context, Result, bail};
use pvault_core::sync::Strategy;
use pvault_core::{ProfileSummary, Pvault};

/// `pvault profile set conflict-strategy|device-rank`.
pub fn set_policy(
    pv: &Pvault,
    name: &str,
    setting: &str,
    value: &str,
    collection: Option<String>,
) -> Result<ProfileSummary> {
    if setting == "device-rank" {
        if collection.is_some() {
            bail!("--collection applies to conflict-strategy only");
        }
        let rank: Vec<String> = if value == "default" {
            Vec::new()
        } else {
            value.split(',').map(|s| s.trim().to_string()).collect()
        };
        if rank
            .iter()
            .any(|d| d.is_empty() || !d.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            bail!(
                "device-rank: expected device ids (hex, as shown in records and `pvault sync status`) separated by commas"
            );
        }
        return Ok(pv.update_settings(name, |s| s.device_rank = rank)?);
    }
    let strategy = if value == "default" {
        None
    } else {
        Some(Strategy::parse(value).with_context(|| {
            format!(
                "unknown conflict strategy '{value}': expected one of {}",
                Strategy::ALL.map(Strategy::as_str).join(", ")
            )
        })?)
    };
    if let Some(c) = &collection {
        pvault_core::models::CollectionName::parse(c)?;
    }
    Ok(pv.update_settings(name, |s| match (collection, strategy) {
        (None, st) => s.conflict_strategy = st,
        (Some(c), Some(st)) => {
            s.collection_strategies.insert(c, st);
        }
        (Some(c), None) => {
            s.collection_strategies.remove(&c);
        }
    })?)
}
