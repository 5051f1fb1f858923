//! Routed pages and the sections they are made of.

pub mod census;
pub mod flush;
pub mod rate_limits;
pub mod stats;

pub use stats::StatsPage;
