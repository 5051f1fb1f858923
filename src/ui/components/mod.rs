pub mod stat_card;
pub mod stats_panel;

pub use stat_card::StatCard;
pub use stats_panel::StatsPanel;
