//! `timestamp` and `profile-priority`: one version wins whole.

use std::collections::BTreeSet;

use super::*;

pub(crate) fn winner_takes_all(base: Option<&Version>, sides: Sides<'_>, pick: Pick) -> Resolution {
    let winner = sides.get(pick.winner);
    let loser_side = pick.winner.other();
    let loser = sides.get(loser_side);
    let what = if winner.data.is_some() {
        "version"
    } else {
        "deletion"
    };
    let why = format!("the {} {what} wins: {}", pick.winner, pick.why);
    let mut dropped = Vec::new();
    report_losses(
        &mut dropped,
        base,
        loser_side,
        loser,
        winner.data.as_ref(),
        &why,
        &BTreeSet::new(),
    );
    if winner.data.is_some() {
        report_classification(
            &mut dropped,
            base,
            loser_side,
            loser,
            winner.classification,
            &why,
        );
    }
    Resolution {
        decision: pick.winner.keep(),
        dropped,
    }
}
