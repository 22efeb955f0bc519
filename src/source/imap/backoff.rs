//! Reconnect delays: exponential from 1 s to 5 min with jitter, so a dead server is
//! never hammered and many clients do not retry in step. QQ refused connections from
//! a client that reconnected every 15 s, and repeated bad logins can lock an account.

use std::time::Duration;

pub const AUTH_FAILURE_WAIT: Duration = Duration::from_secs(30 * 60);
const FIRST: f64 = 1.0;
const LAST: f64 = 300.0;

#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The wait before the next attempt; `jitter` in [0, 1) picks within [½, 1] of the step.
    pub fn next(&mut self, jitter: f64) -> Duration {
        let step = (FIRST * 2f64.powi(self.failures.min(16) as i32)).min(LAST);
        self.failures += 1;
        Duration::from_secs_f64(step * (0.5 + 0.5 * jitter.clamp(0.0, 1.0)))
    }

    /// A pass that completed starts the ladder again (logging in is not enough).
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_five_minutes_and_resets() {
        let mut b = Backoff::default();
        let full: Vec<u64> = (0..12).map(|_| b.next(1.0).as_secs()).collect();
        assert_eq!(full, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(b.next(0.0), Duration::from_secs(150), "jitter halves at most");
        b.reset();
        assert_eq!(b.next(0.0), Duration::from_millis(500));
    }
}
