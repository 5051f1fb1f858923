//! Leaf components: they render what a page hands them and fetch nothing.

pub mod action_form;
pub mod audit_list;
pub mod census_table;
pub mod chart;
pub mod charts_panel;
pub mod cluster_panel;
pub mod config_panel;
pub mod live_panel;
pub mod stat_card;
pub mod stats_panel;
pub mod topology_panel;

pub use action_form::SubmitForm;
pub use audit_list::AuditList;
pub use census_table::CensusTable;
pub use chart::Chart;
pub use charts_panel::ChartsPanel;
pub use cluster_panel::ClusterPanel;
pub use config_panel::ConfigPanel;
pub use live_panel::LivePanel;
pub use stat_card::StatCard;
pub use stats_panel::StatsPanel;
pub use topology_panel::TopologyPanel;
