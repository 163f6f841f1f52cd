//! Model test: random puts, deletes, reads, scans, clean reopens and
//! process-crash reopens, checked step by step against a `BTreeMap`, for
//! every engine with point reads (scans where supported).

mod common;

use std::collections::BTreeMap;

use common::{engines, key, small_config, value};
use engines::fs::RealFs;
use engines::{Engine, SyncPolicy};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn random_operations_match_a_btreemap_across_reopens() {
    for info in engines().filter(|i| i.capabilities.point_reads) {
        for background in [false, true] {
            let t = tempfile::tempdir().unwrap();
            let mut cfg = small_config(t.path(), RealFs::shared(), SyncPolicy::NONE);
            cfg.background_maintenance = background;
            let mut e: Box<dyn Engine> = info.open(cfg.clone()).unwrap();
            let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            let mut rng = Lcg(0x5EED ^ u64::from(background));
            let steps = 10_000;
            for step in 0..steps {
                let k = key(rng.next() % 500);
                match rng.next() % 1000 {
                    0..=499 => {
                        let v = value(step, rng.next() % 7, (rng.next() % 120) as usize);
                        e.put(&k, &v).unwrap();
                        model.insert(k, v);
                    }
                    500..=699 => {
                        e.delete(&k).unwrap();
                        model.remove(&k);
                    }
                    700..=939 => {
                        assert_eq!(
                            e.get(&k).unwrap().as_ref(),
                            model.get(&k),
                            "{} step {step}",
                            info.name
                        );
                    }
                    940..=989 => {
                        if info.capabilities.range_scans {
                            let end = key(rng.next() % 520);
                            let limit = (rng.next() % 40) as usize;
                            let got = e.scan(&k, Some(&end), limit).unwrap();
                            let want: Vec<(Vec<u8>, Vec<u8>)> = model
                                .range(k.clone()..)
                                .take_while(|(mk, _)| **mk < end)
                                .take(limit)
                                .map(|(a, b)| (a.clone(), b.clone()))
                                .collect();
                            assert!(got == want, "{} step {step}: scan differs", info.name);
                        }
                    }
                    990..=994 => {
                        e.close().unwrap();
                        drop(e);
                        e = info.open(cfg.clone()).unwrap();
                    }
                    995..=997 if !background => {
                        // A process crash: nothing more happens in this engine
                        // (only without a background thread, which a leaked
                        // engine would keep running).
                        e.sync().unwrap();
                        std::mem::forget(e);
                        e = info.open(cfg.clone()).unwrap();
                    }
                    _ => e.maintain().unwrap(),
                }
            }
            for (k, v) in &model {
                assert_eq!(e.get(k).unwrap().as_ref(), Some(v), "{} final", info.name);
            }
            e.close().unwrap();
        }
    }
}
