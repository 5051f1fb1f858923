pub mod census;
pub mod flush;
pub mod stats;

pub use stats::StatsPage;
