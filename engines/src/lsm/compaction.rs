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
//! ## Read-triggered level-0 compaction
//!
//! Level 0 is compacted at its trigger (`merge_trigger_files` tables), so
//! up to trigger - 1 tables can sit there for good once writes stop. Their
//! keys span the whole key space, so every scan positions a cursor in each
//! and merges their entries with the sorted levels', entry by entry: at 2M
//! keys three level-0 tables held about a third of the keys and cost scans
//! 15% of their throughput. LevelDB answers reads that pay for extra
//! tables with seek compaction: a table may cost `size / 16 KiB` reads
//! (one seek costs about as much as compacting 16 KiB) before it is
//! compacted. Scans here do the same for level 0: each scan charges one
//! seek per level-0 table, and once the charges reach the sum of the
//! tables' budgets (`size /` [`SEEK_COST_BYTES`], at least 100 each, as
//! LevelDB's), the next maintenance compacts level 0 below its trigger. Point reads charge nothing: a bloom filter rejects a level-0
//! table that lacks the key without reading it. Writes alone never
//! trigger it, so write workloads compact as before; a workload that
//! mixes scans with writes compacts level 0 more often (its write
//! amplification rises, as LevelDB's does).
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

/// Bytes of level 0 whose compaction costs about as much as one scan's
/// seek into a level-0 table (LevelDB's `allowed_seeks` rule; module doc).
const SEEK_COST_BYTES: u64 = 16 << 10;

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
        let mut force_l0 = force || self.l0_wanted.swap(false, Relaxed);
        while self.compact_step(force_l0)? {
            force_l0 = false;
            self.flush()?;
        }
        Ok(())
    }

    /// A scan positioned a cursor in each table of `l0`: charges them, and
    /// asks for a level-0 compaction once the charges pass what it would
    /// cost (module doc).
    pub(super) fn charge_l0_seeks(&self, l0: &[Arc<Table>]) {
        if l0.is_empty() {
            return;
        }
        let seeks = self.l0_scan_seeks.fetch_add(l0.len() as u64, Relaxed) + l0.len() as u64;
        let budget: u64 = l0.iter().map(|t| (t.size / SEEK_COST_BYTES).max(100)).sum();
        if seeks >= budget && !self.l0_wanted.swap(true, Relaxed) {
            self.l0_scan_seeks.store(0, Relaxed);
            self.counters.read_triggered.fetch_add(1, Relaxed);
            if self.background {
                self.signal.request();
            }
        }
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
        if step.level == 0 {
            // Scans charge the tables level 0 holds after this step afresh.
            self.l0_scan_seeks.store(0, Relaxed);
        }
        let moved = step.is_move();
        // A move rewrites nothing: not worth an event.
        let mut span = (!moved).then(|| self.dir.events().begin(EventKind::Compaction));
        self.advance_cursor(&step);
        let inputs: Vec<Arc<Table>> = step.inputs().cloned().collect();
        let input_ids: Vec<u64> = inputs.iter().map(|t| t.id).collect();
        let mut version = v.clone();
        for l in &mut version.levels {
            l.retain(|t| !input_ids.contains(&t.id));
        }
        if moved {
            // Nothing below overlaps: move the table down, no I/O.
            version.levels[out_level].extend(step.upper.iter().cloned());
        } else {
            let out = self.merge(&step, &v, span.as_mut())?;
            self.warm_output(&step, &out)?;
            version.levels[out_level].extend(out);
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
            for t in &inputs {
                t.forget_cached();
            }
            let names: Vec<String> = input_ids.iter().map(|&i| sst_name(i)).collect();
            self.dir.remove_all(&names)?;
            self.counters.compactions.fetch_add(1, Relaxed);
        }
        Ok(true)
    }

    /// Loads a step's output into the block cache before it replaces the
    /// inputs, as far as the cache has room, when at least half of the
    /// inputs' bytes were cached: readers then find what they read as warm
    /// as before the step. Without it, each compaction left readers to
    /// load its output block by block (a `pread`, a CRC and a parse each):
    /// after a 250 MB level-0 compaction at 2M keys, scans ran at half
    /// speed for 3 s (docs/measurements.md). Write-only workloads cache
    /// nothing, so their compactions load nothing.
    fn warm_output(&self, step: &Step, out: &[Arc<Table>]) -> Result<()> {
        let input: u64 = step.inputs().map(|t| t.size).sum();
        let cached: usize = step.inputs().map(|t| t.cached_bytes()).sum();
        if (cached as u64).saturating_mul(2) < input {
            return Ok(());
        }
        self.fill_cache(out).map(|_| ())
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
