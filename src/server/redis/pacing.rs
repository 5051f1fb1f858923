//! Duty-cycle pacing for long walks over the keyspace (census, flush): after each busy
//! stretch, rest so that busy / (busy + rest) stays at the duty cycle, and other clients get
//! Redis in between.

use std::time::Duration;

use tokio::time::Instant;

/// Owed rest is taken in sleeps of at least this much: timers cannot sleep 100 µs.
const MIN_REST: Duration = Duration::from_millis(5);

pub struct Pacer {
    /// Share of wall time the walk may keep Redis busy, clamped to 0.05..=1.
    duty_cycle: f64,
    owed_rest: Duration,
}

impl Pacer {
    pub fn new(duty_cycle: f64) -> Self {
        Self {
            duty_cycle: duty_cycle.clamp(0.05, 1.0),
            owed_rest: Duration::ZERO,
        }
    }

    /// Records `busy` time and sleeps once enough rest is owed.
    pub async fn after(&mut self, busy: Duration) {
        self.owed_rest += busy.mul_f64((1.0 - self.duty_cycle) / self.duty_cycle);
        if self.owed_rest >= MIN_REST {
            let rested = Instant::now();
            tokio::time::sleep(self.owed_rest).await;
            self.owed_rest = self.owed_rest.saturating_sub(rested.elapsed());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rest_follows_the_duty_cycle_and_is_taken_in_blocks() {
        let mut pacer = Pacer::new(0.5);
        let started = Instant::now();
        // 1 ms busy at 50 % owes 1 ms: nothing is slept until 5 ms are owed.
        for _ in 0..4 {
            pacer.after(Duration::from_millis(1)).await;
        }
        assert_eq!(started.elapsed(), Duration::ZERO);
        pacer.after(Duration::from_millis(1)).await;
        assert_eq!(started.elapsed(), Duration::from_millis(5));

        let mut full_speed = Pacer::new(1.0);
        let started = Instant::now();
        full_speed.after(Duration::from_secs(1)).await;
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
