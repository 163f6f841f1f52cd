//! What the report and the comparison share: the set of figures being
//! written, the style each policy or run keeps across charts, and small
//! naming helpers.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::chart::{self, Bars, Formats, Lines};
use crate::PlotError;

/// One drawn chart and how the documents refer to it.
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    /// `out/charts/<name>` without extension.
    pub base: PathBuf,
    /// Chart title (also the heading in the documents).
    pub title: String,
    /// One line saying what the chart shows.
    pub caption: String,
}

/// Charts written so far, in document order.
#[derive(Debug)]
pub(crate) struct FigureSet {
    out: PathBuf,
    formats: Formats,
    pub figures: Vec<Figure>,
    pub files: Vec<PathBuf>,
}

impl FigureSet {
    /// Creates `out/charts/`.
    pub fn create(out: &Path, formats: Formats) -> Result<Self, PlotError> {
        let charts = out.join("charts");
        std::fs::create_dir_all(&charts).map_err(|e| results::Error::Io {
            op: "create directory",
            path: charts,
            source: e,
        })?;
        Ok(FigureSet {
            out: out.to_path_buf(),
            formats,
            figures: Vec::new(),
            files: Vec::new(),
        })
    }

    /// Draws a bar chart unless it has no value; returns whether it drew.
    pub fn bars(&mut self, name: &str, caption: String, chart: Bars) -> Result<bool, PlotError> {
        if chart.is_empty() {
            return Ok(false);
        }
        let base = self.out.join("charts").join(name);
        self.files
            .extend(chart::render_bars(&base, &chart, self.formats)?);
        self.figures.push(Figure {
            base,
            title: chart.title,
            caption,
        });
        Ok(true)
    }

    /// Draws a spectrum unless it has no line; returns whether it drew.
    pub fn lines(&mut self, name: &str, caption: String, chart: Lines) -> Result<bool, PlotError> {
        if chart.series.iter().all(|s| s.points.is_empty()) {
            return Ok(false);
        }
        let base = self.out.join("charts").join(name);
        self.files
            .extend(chart::render_lines(&base, &chart, self.formats)?);
        self.figures.push(Figure {
            base,
            title: chart.title,
            caption,
        });
        Ok(true)
    }

    /// Draws a chart of a kind of its own through `render(base, formats)`
    /// (which returns the files it wrote) and lists it.
    pub fn drawn(
        &mut self,
        name: &str,
        title: String,
        caption: String,
        render: impl FnOnce(&Path, Formats) -> Result<Vec<PathBuf>, PlotError>,
    ) -> Result<(), PlotError> {
        let base = self.out.join("charts").join(name);
        self.files.extend(render(&base, self.formats)?);
        self.figures.push(Figure {
            base,
            title,
            caption,
        });
        Ok(())
    }

    /// Markdown for the figures from index `from` on: a heading, the SVG,
    /// the caption and a link to the PNG.
    pub fn markdown_since(&self, from: usize, level: &str) -> String {
        self.markdown_between(from, self.figures.len(), level)
    }

    /// Markdown for the figures with index in `from..to`.
    pub fn markdown_between(&self, from: usize, to: usize, level: &str) -> String {
        let mut m = String::new();
        for f in self.figures.iter().take(to).skip(from) {
            let rel = f
                .base
                .strip_prefix(&self.out)
                .unwrap_or(&f.base)
                .display()
                .to_string();
            let _ = write!(
                m,
                "{level} {}\n\n![{}]({rel}.svg)\n\n{}",
                f.title, f.title, f.caption
            );
            if self.formats == Formats::PngAndSvg {
                let _ = write!(m, " ([PNG]({rel}.png))");
            }
            let _ = writeln!(m, "\n");
        }
        m
    }
}

/// Style indices by name (policy or run), in first-seen order, so a policy
/// keeps its colour, hatch and marker in every chart of a document.
#[derive(Debug, Default, Clone)]
pub(crate) struct Styles(Vec<String>);

impl Styles {
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut s = Styles::default();
        for n in names {
            s.of(n);
        }
        s
    }

    /// The style of `name` (added if new).
    pub fn of(&mut self, name: &str) -> usize {
        match self.0.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.0.push(name.to_string());
                self.0.len() - 1
            }
        }
    }
}

/// Values in first-seen order.
pub(crate) fn ordered<T: Clone + PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// A file-name-safe form of a workload, engine or profile name.
pub(crate) fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// "1 thread", "4 threads".
pub(crate) fn thread_word(t: u32) -> String {
    if t == 1 {
        "1 thread".into()
    } else {
        format!("{t} threads")
    }
}

/// The stem of a cell's `hgrm/` file for `operation`, as `results` names it.
pub(crate) fn hgrm_stem(r: &results::RunRow, operation: &str) -> String {
    results::hgrm_stem(
        &r.engine,
        &r.policy,
        &r.workload,
        r.threads,
        r.value_size_bytes,
        operation,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hgrm_names_follow_the_runner() {
        let r = results::RunRow {
            engine: "wal".into(),
            policy: "batch:32+dir@fsync".into(),
            workload: "fillrandom".into(),
            threads: 4,
            value_size_bytes: 100,
            ..Default::default()
        };
        assert_eq!(
            hgrm_stem(&r, "all"),
            "wal_batch_32-dir_at_fsync_fillrandom_t4_v100_all"
        );
    }

    #[test]
    fn a_name_keeps_its_style() {
        let mut s = Styles::new(["none", "always", "always+dir"]);
        assert_eq!(s.of("always+dir"), 2);
        assert_eq!(s.of("group+dir"), 3);
        assert_eq!(s.of("none"), 0);
    }
}
