//! The dashboard's sections, one per feature: each owns its resources and actions and renders
//! with the leaf components.

pub mod alerts;
pub mod census;
pub mod diagnostics;
pub mod flush;
pub mod live;
pub mod rate_limit;

pub use alerts::AlertsSection;
pub use census::CensusSection;
pub use diagnostics::DiagnosticsSection;
pub use flush::FlushSection;
pub use live::LiveSection;
pub use rate_limit::RateLimitSection;
