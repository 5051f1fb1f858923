pub mod census;
pub mod stats;

pub use stats::StatsPage;
