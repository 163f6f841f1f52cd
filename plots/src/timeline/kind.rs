//! The kinds of maintenance an engine reports in `events.csv`, and how
//! each is drawn: its legend name, its colour, and whether it is an
//! instant (a tick) or a span (a band).

use plotters::style::RGBColor;

/// What an engine was doing, as `events.csv` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventKind {
    Flush,
    Compaction,
    Merge,
    Checkpoint,
    WriteStall,
    IndexResize,
    Rotation,
    Recycle,
    /// A kind this version does not know, drawn grey under its own name.
    Other(String),
}

impl EventKind {
    pub(crate) fn parse(kind: &str) -> EventKind {
        match kind {
            "flush" => EventKind::Flush,
            "compaction" => EventKind::Compaction,
            "merge" => EventKind::Merge,
            "checkpoint" => EventKind::Checkpoint,
            "write-stall" => EventKind::WriteStall,
            "index-resize" => EventKind::IndexResize,
            "rotation" => EventKind::Rotation,
            "recycle" => EventKind::Recycle,
            other => EventKind::Other(other.to_string()),
        }
    }

    /// The name in `events.csv` and in the legend.
    pub(crate) fn name(&self) -> &str {
        match self {
            EventKind::Flush => "flush",
            EventKind::Compaction => "compaction",
            EventKind::Merge => "merge",
            EventKind::Checkpoint => "checkpoint",
            EventKind::WriteStall => "write-stall",
            EventKind::IndexResize => "index-resize",
            EventKind::Rotation => "rotation",
            EventKind::Recycle => "recycle",
            EventKind::Other(k) => k,
        }
    }

    /// Events that take no time to speak of: ticks, not bands.
    pub(crate) fn instant(&self) -> bool {
        matches!(self, EventKind::Rotation | EventKind::Recycle)
    }

    /// Legend order; instants after bands, unknown kinds last.
    pub(super) fn rank(&self) -> u8 {
        match self {
            EventKind::Flush => 0,
            EventKind::Compaction => 1,
            EventKind::Merge => 2,
            EventKind::Checkpoint => 3,
            EventKind::WriteStall => 4,
            EventKind::IndexResize => 5,
            EventKind::Rotation => 6,
            EventKind::Recycle => 7,
            EventKind::Other(_) => 8,
        }
    }

    /// Hues far apart, so kinds stay apart at low opacity.
    pub(super) fn color(&self) -> RGBColor {
        match self {
            EventKind::Flush => RGBColor(40, 110, 210),
            EventKind::Compaction => RGBColor(245, 135, 20),
            EventKind::Merge => RGBColor(150, 70, 200),
            EventKind::Checkpoint => RGBColor(30, 160, 70),
            EventKind::WriteStall => RGBColor(220, 30, 30),
            EventKind::IndexResize => RGBColor(200, 170, 0),
            EventKind::Rotation => RGBColor(90, 90, 90),
            EventKind::Recycle => RGBColor(0, 140, 150),
            EventKind::Other(_) => RGBColor(150, 150, 150),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_and_keep_unknown_names() {
        assert_eq!(EventKind::parse("write-stall"), EventKind::WriteStall);
        assert!(EventKind::parse("recycle").instant());
        assert!(!EventKind::parse("flush").instant());
        assert_eq!(EventKind::parse("gc").name(), "gc");
    }
}
