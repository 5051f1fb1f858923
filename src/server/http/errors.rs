//! Internal errors as the operator finds them: a fresh reference id goes to the caller, the
//! detail to the log under that id (installed into `AppError::internal` by the router).

use rand::Rng as _;

/// Logs `detail` under a new 12-hex-digit reference and returns the reference.
pub fn report_internal(detail: &str) -> String {
    let reference = format!("{:012x}", rand::rng().random::<u64>() >> 16);
    tracing::error!(reference = %reference, detail, "internal error");
    reference
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};

    use super::*;
    use crate::error::{AppError, set_internal_reporter};

    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Log {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut log) = self.0.lock() {
                log.extend_from_slice(bytes);
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_internal_error_sends_only_a_reference_that_the_log_carries_with_the_detail() {
        set_internal_reporter(report_internal);
        let log = Log::default();
        let writer = {
            let log = log.clone();
            move || log.clone()
        };
        let subscriber = tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .finish();
        let error = tracing::subscriber::with_default(subscriber, || {
            AppError::from_server_fn_error(ServerFnErrorErr::ServerError(
                "pool exhausted at db.rs:42".into(),
            ))
        });
        let AppError::Internal { reference } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(reference.len(), 12);
        assert!(reference.chars().all(|c| c.is_ascii_hexdigit()));
        let sent = serde_json::to_string(&error).unwrap_or_default();
        assert!(!sent.contains("pool exhausted"), "{sent}");
        let logged = String::from_utf8(log.0.lock().map(|l| l.clone()).unwrap_or_default())
            .unwrap_or_default();
        assert!(logged.contains(reference.as_str()), "{logged}");
        assert!(logged.contains("pool exhausted at db.rs:42"), "{logged}");
        assert_ne!(
            AppError::internal("x"),
            error,
            "each failure gets its own id"
        );
    }
}
