//! The live section: the current figures, the cluster and Sentinel panels, and the charts
//! over the chosen range, all following the event stream.

use leptos::prelude::*;

use crate::i18n::Texts;
use crate::model::health::Thresholds;
use crate::ui::components::{ChartsPanel, ClusterPanel, LivePanel, TopologyPanel};
use crate::ui::live::LiveData;

#[component]
pub fn LiveSection(live: LiveData, width: Signal<f32>, texts: &'static Texts) -> impl IntoView {
    let snapshot = live.snapshot;
    let census = live.census;
    // Keys per group once a census has run; until then keys per database from INFO.
    let key_bars = Signal::derive(move || {
        let groups = census
            .get()
            .and_then(|state| state.last)
            .map(|report| report.groups);
        match groups {
            Some(groups) if !groups.is_empty() => (
                groups
                    .into_iter()
                    .map(|g| (g.prefix, g.keys as f64))
                    .collect(),
                texts.chart_keys_by_group,
            ),
            _ => (
                snapshot
                    .get()
                    .map(|s| s.keys_per_db)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(db, keys)| (format!("{} {db}", texts.database_short), keys as f64))
                    .collect(),
                texts.chart_keys,
            ),
        }
    });
    let target_hit_rate = Signal::derive(move || {
        snapshot
            .get()
            .map_or(Thresholds::default().target_hit_rate_percent, |s| {
                s.thresholds.target_hit_rate_percent
            })
    });

    view! {
        <h2 class="section-heading">{texts.live_heading}</h2>
        {move || snapshot.get().map(|snapshot| {
            view! { <LivePanel snapshot server_now_ms=live.server_now_ms.get() texts /> }
        })}
        {move || snapshot.get().filter(|snapshot| !snapshot.cluster_nodes.is_empty()).map(|snapshot| {
            view! {
                <ClusterPanel nodes=snapshot.cluster_nodes.clone() stats=snapshot.nodes.clone() texts />
            }
        })}
        {move || snapshot.get().and_then(|snapshot| snapshot.topology.clone()).map(|topology| {
            view! { <TopologyPanel topology texts /> }
        })}
        <ChartsPanel
            points=live.points
            key_bars
            target_hit_rate
            range=live.range
            width
            texts
        />
    }
}
