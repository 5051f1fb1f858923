//! Routed pages: the dashboard, composed of the sections.

pub mod stats;

pub use stats::StatsPage;
