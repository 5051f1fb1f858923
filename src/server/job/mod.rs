//! Long jobs (a census, a flush) run once per target: `RunSlot` keeps one run at a time in
//! this process, with the cancel flag the run checks between pages; `lease` keeps one run at
//! a time across every replica, through Redis.

mod lease;
mod settings;

pub use lease::{JobLeases, Lease, LeaseRefusal};
pub use settings::JobSettings;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct RunSlot {
    /// Present while a run holds the slot; setting the flag asks it to stop.
    running: Mutex<Option<Arc<AtomicBool>>>,
}

impl RunSlot {
    /// Takes the slot: the new run's cancel flag, or `None` while another run holds it.
    pub fn try_start(&self) -> Option<Arc<AtomicBool>> {
        let mut running = self.lock();
        if running.is_some() {
            return None;
        }
        let flag = Arc::new(AtomicBool::new(false));
        *running = Some(flag.clone());
        Some(flag)
    }

    /// Frees the slot (the run is over, or never really started).
    pub fn finish(&self) {
        *self.lock() = None;
    }

    /// Asks the running run to stop; false when none runs.
    pub fn cancel(&self) -> bool {
        self.lock()
            .as_ref()
            .map(|flag| flag.store(true, Ordering::Relaxed))
            .is_some()
    }

    pub fn is_running(&self) -> bool {
        self.lock().is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<AtomicBool>>> {
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_run_at_a_time_and_cancel_reaches_it() {
        let slot = RunSlot::default();
        assert!(!slot.cancel(), "nothing to cancel");
        let flag = slot.try_start().unwrap();
        assert!(slot.try_start().is_none(), "the slot is taken");
        assert!(slot.is_running());
        assert!(slot.cancel());
        assert!(flag.load(Ordering::Relaxed));
        slot.finish();
        assert!(!slot.is_running());
        let next = slot.try_start().unwrap();
        assert!(
            !next.load(Ordering::Relaxed),
            "a new run starts uncancelled"
        );
    }
}
