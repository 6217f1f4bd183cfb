//! Misbehaviour real Atlas shows and an ideal emulation would not: "ghost" writes (a create or a
//! link that is carried out but answered 500/503, or whose connection is closed without an
//! answer), drawn from a seeded generator so that a run can be replayed. The settings that
//! change the model itself (cluster updates after a link, the bound on concurrent links) live
//! in [`crate::model::Store`]; `GET/PUT /__sandbox/realism` shows and sets both.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Default seed of the ghost generator (`--seed`).
pub const DEFAULT_SEED: u64 = 0;

/// What happens to the answer of a write that did its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ghost {
    /// The answer goes out as the handler made it.
    None,
    /// The answer is replaced by this error status (500 or 503).
    Status(u16),
    /// The connection is closed without an answer.
    Drop,
}

/// Ghost-write settings and their seeded generator.
#[derive(Debug)]
pub struct GhostWrites {
    /// Probability (0 to 1) that a create or link is answered 500/503 after doing its work.
    pub ghost_rate: f64,
    /// Probability (0 to 1) that a create or link has its connection closed without an answer
    /// after doing its work (drawn first).
    pub drop_rate: f64,
    /// The seed the generator was last started from.
    pub seed: u64,
    rng: StdRng,
    ghosts: u64,
}

impl GhostWrites {
    /// No ghosts, generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            ghost_rate: 0.0,
            drop_rate: 0.0,
            seed,
            rng: StdRng::seed_from_u64(seed),
            ghosts: 0,
        }
    }

    /// Restarts the generator from `seed` (the same seed replays the same draws).
    pub fn reseed(&mut self, seed: u64) {
        self.seed = seed;
        self.rng = StdRng::seed_from_u64(seed);
        self.ghosts = 0;
    }

    /// Draws the fate of one write's answer. One number is drawn per write whatever the
    /// rates, so that a given seed gives the same sequence of fates for the same writes.
    /// Error statuses alternate 500, 503, 500, ...
    pub fn draw(&mut self) -> Ghost {
        if self.ghost_rate <= 0.0 && self.drop_rate <= 0.0 {
            return Ghost::None;
        }
        let x: f64 = self.rng.random();
        if x < self.drop_rate {
            return Ghost::Drop;
        }
        if x < self.drop_rate + self.ghost_rate {
            let status = if self.ghosts.is_multiple_of(2) {
                500
            } else {
                503
            };
            self.ghosts += 1;
            return Ghost::Status(status);
        }
        Ghost::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_reproducible() {
        let mut g = GhostWrites::new(7);
        assert_eq!(g.draw(), Ghost::None);
        g.ghost_rate = 0.5;
        let first: Vec<Ghost> = (0..20).map(|_| g.draw()).collect();
        g.reseed(7);
        let again: Vec<Ghost> = (0..20).map(|_| g.draw()).collect();
        assert_eq!(first, again);
        assert!(first.contains(&Ghost::None));
        assert!(first.contains(&Ghost::Status(500)));
        assert!(first.contains(&Ghost::Status(503)));
    }

    #[test]
    fn rate_one_always_ghosts_and_drop_wins() {
        let mut g = GhostWrites::new(1);
        g.ghost_rate = 1.0;
        assert!((0..10).all(|_| matches!(g.draw(), Ghost::Status(_))));
        g.drop_rate = 1.0;
        assert!((0..10).all(|_| g.draw() == Ghost::Drop));
    }
}
