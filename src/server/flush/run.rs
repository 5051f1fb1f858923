//! One flush run: the walk under the prefix with UNLINK, progress published as it goes, and
//! the report of how it ended.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::time::Instant;

use super::FlushManager;
use super::walk::{ScanOutcome, scan_prefix};
use crate::model::flush::{FlushOutcome, FlushProgress, FlushReport, KeyPrefix};

impl FlushManager {
    pub(super) async fn run(
        &self,
        prefix: KeyPrefix,
        preview_id: String,
        started_at_ms: i64,
        cancel: &Arc<AtomicBool>,
        // Told the progress after every page (the lease's run record follows it).
        mut on_page: impl FnMut(&FlushProgress),
    ) -> FlushReport {
        let started = Instant::now();
        let (mut scanned, mut matched) = (0_u64, 0_u64);
        let state = &self.state;
        let result = scan_prefix(
            &self.redis,
            &prefix,
            Some((cancel.clone(), self.settings.duty_cycle)),
            |keys, deleted, visited| {
                matched += keys.len() as u64;
                state.send_modify(|state| {
                    if let Some(progress) = state.running.as_mut() {
                        // Pages × COUNT overshoots a small database: never more than it held
                        // (or than the walk found under the prefix, if it grew meanwhile).
                        progress.scanned_keys = visited.min(progress.dbsize_at_start.max(matched));
                        scanned = progress.scanned_keys;
                        progress.matched_keys = matched;
                        progress.deleted_keys = deleted;
                        on_page(progress);
                    }
                });
                keys
            },
            |node, done, total| {
                state.send_modify(|state| {
                    if let Some(progress) = state.running.as_mut() {
                        progress.node = node;
                        progress.nodes_done = done;
                        progress.nodes_total = total;
                    }
                });
            },
        )
        .await;
        let (deleted_keys, outcome) = match result {
            Ok(ScanOutcome {
                deleted,
                cancelled: false,
            }) => (deleted, FlushOutcome::Complete),
            Ok(ScanOutcome {
                deleted,
                cancelled: true,
            }) if self.interrupted.load(Ordering::Relaxed) => (deleted, FlushOutcome::Interrupted),
            Ok(ScanOutcome {
                deleted,
                cancelled: true,
            }) => (deleted, FlushOutcome::Cancelled),
            Err((deleted, failure)) => (
                deleted,
                FlushOutcome::Failed {
                    reason: failure.reason,
                },
            ),
        };
        FlushReport {
            prefix: prefix.as_str().to_owned(),
            preview_id,
            started_at_ms,
            duration_ms: started.elapsed().as_millis() as u64,
            scanned_keys: scanned,
            deleted_keys,
            outcome,
        }
    }
}
