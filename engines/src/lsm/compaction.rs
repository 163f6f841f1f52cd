//! Leveled compaction: which step to run next, and running it.
//!
//! Level 0 holds flushed tables, which overlap each other; levels 1 to 6
//! each hold tables with disjoint key ranges, in key order. Level 1's
//! target size is `merge_trigger_files x memtable_bytes` and each deeper
//! level's is [`LEVEL_RATIO`] times the one above. One step merges either
//! level 0 (at its trigger) with the level-1 tables it overlaps, or one
//! table of the level furthest over its target (round robin through its
//! key range) with the tables of the next level it overlaps; a table that
//! overlaps nothing below is moved down by the manifest alone. A tombstone
//! is dropped only when no deeper level may hold its key.
//!
//! A step writes its output tables (see `flush.rs`), then the manifest,
//! and only then removes its inputs, so a crash leaves either the inputs
//! or the outputs named by the manifest. Flushes run between steps, so a
//! writer waiting for a flush waits for at most one step.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::events::{EventKind, Span};
use crate::Result;

use super::merge::{MergeIter, Source};
use super::sstable::Table;
use super::{lock, sst_name, Inner, Version, LEVEL_RATIO};

/// What one compaction step merges.
#[derive(Debug)]
struct Step {
    /// Level of `upper`; the output goes to `level + 1`.
    level: usize,
    /// Level-0 tables newest first, or one table of a sorted level.
    upper: Vec<Arc<Table>>,
    /// The tables of `level + 1` that overlap `upper`, in key order.
    lower: Vec<Arc<Table>>,
}

impl Step {
    /// One table with nothing below it: moved down, nothing rewritten.
    fn is_move(&self) -> bool {
        self.upper.len() == 1 && self.lower.is_empty()
    }

    fn inputs(&self) -> impl Iterator<Item = &Arc<Table>> {
        self.upper.iter().chain(&self.lower)
    }
}

impl Inner {
    /// Flushes the immutable memtable (if any), then runs compaction steps
    /// while a level is over its target, flushing between steps. With
    /// `force`, level 0 is compacted even below its trigger.
    pub(super) fn maintain(&self, force: bool) -> Result<()> {
        self.flush()?;
        let mut force_l0 = force;
        while self.compact_step(force_l0)? {
            force_l0 = false;
            self.flush()?;
        }
        Ok(())
    }

    fn level_target(&self, level: usize) -> u64 {
        let mut t = self.level1_bytes;
        for _ in 1..level {
            t = t.saturating_mul(LEVEL_RATIO);
        }
        t
    }

    /// The next compaction step, if any level needs one: level 0 at its
    /// trigger (or non-empty, when `force_l0`), else the sorted level (not
    /// the last) furthest over its target.
    fn pick(&self, v: &Version, force_l0: bool) -> Option<Step> {
        let l0 = &v.levels[0];
        let (level, upper) = if l0.len() >= self.trigger || (force_l0 && !l0.is_empty()) {
            (0, l0.clone())
        } else {
            let level = self.most_over_target(v)?;
            (level, vec![self.next_in_turn(v, level)?])
        };
        let lo = upper.iter().map(|t| t.first_key.as_slice()).min()?;
        let hi = upper.iter().map(|t| t.last_key()).max()?;
        let lower = v.levels[level + 1]
            .iter()
            .filter(|t| t.overlaps(lo, hi))
            .cloned()
            .collect();
        Some(Step {
            level,
            upper,
            lower,
        })
    }

    /// The sorted level (not the last) furthest over its target, if any is.
    fn most_over_target(&self, v: &Version) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for level in 1..v.levels.len() - 1 {
            let score = v.level_bytes(level) as f64 / self.level_target(level) as f64;
            if score >= 1.0 && best.is_none_or(|(_, s)| score > s) {
                best = Some((level, score));
            }
        }
        best.map(|(level, _)| level)
    }

    /// The table of sorted `level` after the last one compacted from it,
    /// wrapping around to its first.
    fn next_in_turn(&self, v: &Version, level: usize) -> Option<Arc<Table>> {
        let tables = &v.levels[level];
        let cursors = lock(&self.cursors);
        let after = cursors.get(level).map_or(&[][..], Vec::as_slice);
        let i = tables.partition_point(|t| t.first_key.as_slice() <= after);
        tables.get(i).or_else(|| tables.first()).cloned()
    }

    /// Runs one compaction step; false when no level needs one.
    pub(super) fn compact_step(&self, force_l0: bool) -> Result<bool> {
        let _one = lock(&self.maintenance);
        let v = self.tree().version.clone();
        let Some(step) = self.pick(&v, force_l0) else {
            return Ok(false);
        };
        let out_level = step.level + 1;
        let moved = step.is_move();
        // A move rewrites nothing: not worth an event.
        let mut span = (!moved).then(|| self.dir.events().begin(EventKind::Compaction));
        self.advance_cursor(&step);
        let input_ids: Vec<u64> = step.inputs().map(|t| t.id).collect();
        let mut version = v.clone();
        for l in &mut version.levels {
            l.retain(|t| !input_ids.contains(&t.id));
        }
        if moved {
            // Nothing below overlaps: move the table down, no I/O.
            version.levels[out_level].extend(step.upper.iter().cloned());
        } else {
            version.levels[out_level].extend(self.merge(&step, &v, span.as_mut())?);
        }
        version.levels[out_level].sort_by(|a, b| a.first_key.cmp(&b.first_key));
        {
            let mut m = lock(&self.manifest);
            m.levels = version.ids();
            self.store_manifest(&m)?;
        }
        self.tree_mut().version = version;
        if moved {
            self.counters.moves.fetch_add(1, Relaxed);
        } else {
            let names: Vec<String> = input_ids.iter().map(|&i| sst_name(i)).collect();
            self.dir.remove_all(&names)?;
            self.counters.compactions.fetch_add(1, Relaxed);
        }
        Ok(true)
    }

    /// Remembers where a sorted level's round robin stopped.
    fn advance_cursor(&self, step: &Step) {
        if step.level == 0 {
            return;
        }
        if let Some(t) = step.upper.first() {
            let mut cursors = lock(&self.cursors);
            if let Some(c) = cursors.get_mut(step.level) {
                c.clear();
                c.extend_from_slice(t.last_key());
            }
        }
    }

    /// Merges the step's inputs into new tables for the level below,
    /// dropping tombstones no deeper level of `v` needs.
    fn merge(&self, step: &Step, v: &Version, span: Option<&mut Span>) -> Result<Vec<Arc<Table>>> {
        let out_level = step.level + 1;
        let mut sources: Vec<Source<'_>> = step
            .upper
            .iter()
            .map(|t| Box::new(t.all()) as Source<'_>)
            .collect();
        sources.push(Box::new(step.lower.iter().flat_map(|t| t.all())));
        let live = MergeIter::new(sources).filter(|e| match e {
            Ok((k, None)) => v.deeper_may_hold(out_level, k),
            _ => true,
        });
        let (tables, bytes) = self.write_tables(live, true)?;
        self.counters.compaction_bytes.fetch_add(bytes, Relaxed);
        if let Some(span) = span {
            let bytes_in: u64 = step.inputs().map(|t| t.size).sum();
            span.detail(|| {
                format!(
                    "L{}->L{out_level} in={bytes_in} out={bytes} tables={}->{}",
                    step.level,
                    step.upper.len() + step.lower.len(),
                    tables.len()
                )
            });
        }
        Ok(tables)
    }
}
