//! rayon's parallel iterator: the baseline for offloading many small
//! computations.

use std::time::Instant;

use rayon::prelude::*;

use super::*;

pub struct Rayon;

impl Peer for Rayon {
    fn name(&self) -> &'static str {
        "rayon"
    }

    fn workloads(&self) -> &'static [&'static str] {
        &["offload"]
    }

    fn run(&self, _: &str) -> f64 {
        let expected = offload_expected();
        let pool = rayon::ThreadPoolBuilder::new().build().unwrap();
        let start = Instant::now();
        let total = pool.install(|| {
            (0..OFFLOADS as u64)
                .into_par_iter()
                .map(job)
                .reduce(|| 0, u64::wrapping_add)
        });
        let ms = start.elapsed().as_secs_f64() * 1e3;
        assert_eq!(total, expected);
        ms
    }
}
