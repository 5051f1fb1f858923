//! On a Redis Cluster: each master's figures, and every node with its role, slots and state.

use leptos::prelude::*;

use crate::i18n::Texts;
use crate::model::cluster::ClusterNode;
use crate::model::stats::NodeStats;

/// Every node of a Redis Cluster: role, slots, state, and each master's own figures (the
/// dashboard's headline figures are their sums).
#[component]
pub fn ClusterPanel(
    nodes: Vec<ClusterNode>,
    stats: Vec<NodeStats>,
    texts: &'static Texts,
) -> impl IntoView {
    let lang = texts.lang;
    let rows = nodes
        .into_iter()
        .map(|node| {
            let figures = stats.iter().find(|s| s.address == node.address);
            let keys = figures.map_or_else(|| "—".into(), |f| lang.count(f.stats.total_keys));
            let hit_rate = figures
                .and_then(|f| f.stats.hit_rate_percent())
                .map_or_else(|| "—".into(), |rate| lang.percent(rate, 1));
            let memory =
                figures.map_or_else(|| "—".into(), |f| lang.bytes(f.stats.used_memory_bytes));
            let failing = node.is_failing();
            view! {
                <tr data-testid="cluster-node" data-failing=failing.to_string()>
                    <td><code>{node.address.clone()}</code></td>
                    <td>{if node.is_master { "master" } else { "replica" }}</td>
                    <td class="num">{lang.count(u64::from(node.slots))}</td>
                    <td class=if failing { "mismatch" } else { "" }>
                        {if failing { texts.node_down } else { texts.node_up }}
                    </td>
                    <td class="num">{keys}</td>
                    <td class="num">{hit_rate}</td>
                    <td class="num">{memory}</td>
                    <td class="meta">{node.flags.join(",")}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel" data-testid="cluster-nodes">
            <h2>{texts.cluster_heading}</h2>
            <table class="data-table">
                <thead><tr>
                    <th>{texts.col_address}</th><th>{texts.col_role}</th><th>{texts.col_slots}</th>
                    <th>{texts.col_state}</th><th>{texts.col_keys}</th><th>{texts.hit_rate}</th>
                    <th>{texts.used_memory}</th><th>{texts.col_flags}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
    .into_any()
}
