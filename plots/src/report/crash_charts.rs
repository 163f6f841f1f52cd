//! The crash-verification section: a chart of acknowledged writes lost per
//! crash profile, expected losses (the policy allows them) and unexpected
//! ones (a broken promise) in separate panels, then the table.

use results::CrashRow;

use super::Charts;
use crate::chart::{BarPanel, Bars};
use crate::crash::{crash_fs_words, crash_table, expected_lost};
use crate::figures::{ordered, slug};
use crate::loaded::Optional;
use crate::PlotError;

/// The section's Markdown: the table and a chart per profile, or why there
/// is none (also added to `notes`).
pub(super) fn crash_section(c: &mut Charts, notes: &mut Vec<String>) -> Result<String, PlotError> {
    let crash = match &c.d.crash {
        Optional::Missing(why) => {
            notes.push(why.clone());
            return Ok(format!("{why}.\n\n"));
        }
        Optional::Rows(crash) => crash,
    };
    let first = c.figs.figures.len();
    for profile in ordered(crash.iter().map(|r| r.profile.clone())) {
        profile_chart(c, crash, &profile)?;
    }
    let mut md = crash_table(crash);
    md.push_str(&c.figs.markdown_since(first, "###"));
    Ok(md)
}

/// The chart of one crash profile: engines along x, a bar per policy.
fn profile_chart(c: &mut Charts, crash: &[CrashRow], profile: &str) -> Result<(), PlotError> {
    let rows: Vec<&CrashRow> = crash.iter().filter(|r| r.profile == profile).collect();
    let engines = ordered(rows.iter().map(|r| r.engine.clone()));
    let policies = ordered(rows.iter().map(|r| r.policy.clone()));
    // Expected losses and unexpected ones in separate panels: same colours,
    // never stacked into one bar.
    let panels = vec![
        lost_panel(
            c,
            &rows,
            &engines,
            &policies,
            "expected (allowed by the policy)",
            true,
        ),
        lost_panel(
            c,
            &rows,
            &engines,
            &policies,
            "unexpected (broken promise)",
            false,
        ),
    ];
    let what = crash_fs_words(profile);
    c.figs.bars(
        &format!("crash_{}", slug(profile)),
        format!("Acknowledged writes lost ({what}), as a percentage of all acknowledged writes, per engine and policy. Left: losses the policy allows (no `+dir`: never-synced file names; `none` and `batch:N`: writes not yet synced). Right: losses that broke the policy's promise (BROKEN); an engine you can trust has no bar there."),
        Bars {
            title: format!("Acknowledged writes lost, fs {profile}"),
            y_label: "acknowledged writes lost (%)".into(),
            x_label: "engine".into(),
            categories: engines,
            panels,
            log: Some(false),
            reference: None,
            diverging: false,
            corner: c.corner.to_string(),
            legend_title: "policy".into(),
        },
    )?;
    Ok(())
}

/// The expected (or unexpected) losses of each engine and policy, as a
/// percentage of its acknowledged writes.
fn lost_panel(
    c: &mut Charts,
    rows: &[&CrashRow],
    engines: &[String],
    policies: &[String],
    subtitle: &str,
    expected: bool,
) -> BarPanel {
    let lost_pct = |r: &CrashRow| {
        let lost = if expected {
            expected_lost(r)
        } else {
            r.lost_writes - expected_lost(r)
        };
        100.0 * lost as f64 / r.acked_writes.max(1) as f64
    };
    BarPanel {
        subtitle: subtitle.to_string(),
        series: c.by_policy(rows, engines, policies, |r| Some(lost_pct(r))),
    }
}
