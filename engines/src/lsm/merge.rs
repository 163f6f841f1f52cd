//! Merging sorted sources, newest first: the newest entry of each key wins,
//! tombstones included (the caller decides whether to hide or keep them).

use super::sstable::Entry;
use crate::Result;

/// A sorted source of entries.
pub type Source<'a> = Box<dyn Iterator<Item = Result<Entry>> + 'a>;

/// Merges sources given newest first.
pub struct MergeIter<'a> {
    sources: Vec<Source<'a>>,
    heads: Vec<Option<Entry>>,
    started: bool,
}

impl std::fmt::Debug for MergeIter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergeIter")
            .field("sources", &self.sources.len())
            .finish()
    }
}

impl<'a> MergeIter<'a> {
    /// Merges `sources` (index 0 newest).
    pub fn new(sources: Vec<Source<'a>>) -> Self {
        let n = sources.len();
        MergeIter {
            sources,
            heads: (0..n).map(|_| None).collect(),
            started: false,
        }
    }

    fn fill(&mut self, i: usize) -> Result<()> {
        self.heads[i] = match self.sources[i].next() {
            Some(r) => Some(r?),
            None => None,
        };
        Ok(())
    }
}

impl Iterator for MergeIter<'_> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.started = true;
            for i in 0..self.sources.len() {
                if let Err(e) = self.fill(i) {
                    return Some(Err(e));
                }
            }
        }
        // The smallest key; among equal keys the newest (lowest index) wins.
        let mut best: Option<usize> = None;
        for (i, h) in self.heads.iter().enumerate() {
            if let Some((k, _)) = h {
                if best.is_none_or(|b| self.heads[b].as_ref().is_some_and(|(bk, _)| k < bk)) {
                    best = Some(i);
                }
            }
        }
        let b = best?;
        let winner = self.heads[b].take()?;
        for i in 0..self.heads.len() {
            let same = i == b || self.heads[i].as_ref().is_some_and(|(k, _)| *k == winner.0);
            if same {
                if let Err(e) = self.fill(i) {
                    return Some(Err(e));
                }
            }
        }
        Some(Ok(winner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(v: Vec<(&str, Option<&str>)>) -> Source<'static> {
        Box::new(
            v.into_iter()
                .map(|(k, v)| Ok((k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec()))))
                .collect::<Vec<_>>()
                .into_iter(),
        )
    }

    #[test]
    fn newest_wins_and_tombstones_pass_through() {
        let m = MergeIter::new(vec![
            src(vec![("a", Some("new")), ("c", None)]),
            src(vec![
                ("a", Some("old")),
                ("b", Some("b")),
                ("c", Some("old")),
            ]),
        ]);
        let got: Vec<Entry> = m.map(|r| r.unwrap()).collect();
        assert_eq!(
            got,
            vec![
                (b"a".to_vec(), Some(b"new".to_vec())),
                (b"b".to_vec(), Some(b"b".to_vec())),
                (b"c".to_vec(), None),
            ]
        );
    }
}
