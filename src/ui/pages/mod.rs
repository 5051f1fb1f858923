pub mod stats;

pub use stats::StatsPage;
