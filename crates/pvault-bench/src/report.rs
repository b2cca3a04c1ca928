//! What a benchmark reports: rows of figures with ratios against a baseline, and goals met or not;
//! printed as a table or as JSON.

use serde_json::{Value, json};

use crate::timing::Stats;

/// One benchmark's results.
pub struct Section {
    pub title: String,
    /// What was measured, how (one line each).
    pub setup: Vec<String>,
    pub rows: Vec<Row>,
    pub goals: Vec<Goal>,
}

/// One contender's figure. `stats` is `None` when it could not be measured (`note` says why).
pub struct Row {
    pub name: String,
    pub stats: Option<Stats>,
    pub unit: &'static str,
    /// This figure relative to the section's baseline for it (as the row's note names it).
    pub ratio: Option<f64>,
    pub note: String,
}

impl Row {
    pub fn new(name: impl Into<String>, stats: Option<Stats>, unit: &'static str) -> Row {
        Row {
            name: name.into(),
            stats,
            unit,
            ratio: None,
            note: String::new(),
        }
    }

    pub fn ratio(mut self, ratio: Option<f64>) -> Row {
        self.ratio = ratio;
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Row {
        self.note = note.into();
        self
    }
}

/// An acceptance goal and whether the run met it (`None`: could not be judged).
pub struct Goal {
    pub goal: String,
    pub measured: String,
    pub met: Option<bool>,
}

/// `a / b` when both exist.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

fn num(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// Prints sections as aligned text tables.
pub fn print_table(machine: &[(String, String)], sections: &[Section]) {
    for (k, v) in machine {
        println!("{k:>14}: {v}");
    }
    for s in sections {
        println!("\n== {} ==", s.title);
        for line in &s.setup {
            println!("   {line}");
        }
        println!(
            "   {:<46} {:>10} {:>10} {:>10}  {:<6} {:>7}  note",
            "contender", "median", "min", "max", "unit", "ratio"
        );
        for r in &s.rows {
            let (med, min, max) = match r.stats {
                Some(st) => (num(st.median), num(st.min), num(st.max)),
                None => ("—".into(), "—".into(), "—".into()),
            };
            let ratio = r.ratio.map(|x| format!("{x:.2}×")).unwrap_or_default();
            println!(
                "   {:<46} {:>10} {:>10} {:>10}  {:<6} {:>7}  {}",
                r.name, med, min, max, r.unit, ratio, r.note
            );
        }
        for g in &s.goals {
            let verdict = match g.met {
                Some(true) => "MET",
                Some(false) => "MISSED",
                None => "NOT JUDGED",
            };
            println!("   goal: {} — measured {} — {verdict}", g.goal, g.measured);
        }
    }
}

/// The same as JSON.
pub fn to_json(machine: &[(String, String)], sections: &[Section]) -> Value {
    let machine: serde_json::Map<String, Value> = machine
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let sections: Vec<Value> = sections
        .iter()
        .map(|s| {
            json!({
                "title": s.title,
                "setup": s.setup,
                "rows": s.rows.iter().map(|r| json!({
                    "name": r.name,
                    "unit": r.unit,
                    "median": r.stats.map(|x| x.median),
                    "min": r.stats.map(|x| x.min),
                    "max": r.stats.map(|x| x.max),
                    "runs": r.stats.map(|x| x.runs),
                    "ratio": r.ratio,
                    "note": r.note,
                })).collect::<Vec<_>>(),
                "goals": s.goals.iter().map(|g| json!({
                    "goal": g.goal,
                    "measured": g.measured,
                    "met": g.met,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "machine": machine, "sections": sections })
}
