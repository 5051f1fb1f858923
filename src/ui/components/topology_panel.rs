//! Behind Sentinel: the master, its replicas with their lag, and the sentinels.

use leptos::prelude::*;

use crate::i18n::Texts;
use crate::model::topology::{NodeView, Topology};

/// Master, replicas (with lag) and sentinels of a Sentinel deployment.
#[component]
pub fn TopologyPanel(topology: Topology, texts: &'static Texts) -> impl IntoView {
    let row = move |role: &'static str, node: NodeView| {
        let state = if node.healthy {
            texts.node_up
        } else {
            texts.node_down
        };
        let lag = node
            .lag_seconds
            .map(|lag| texts.lang.duration_s(lag))
            .unwrap_or_else(|| "—".into());
        view! {
            <tr data-testid="topology-node" data-role=role data-healthy=node.healthy.to_string()>
                <td translate="no">{role}</td>
                <td><code translate="no">{node.address}</code></td>
                <td class=if node.healthy { "" } else { "mismatch" }>{state}</td>
                <td class="num">{lag}</td>
                <td class="meta" translate="no">{node.flags}</td>
            </tr>
        }
    };
    let master = topology.master.clone().map(|node| row("master", node));
    let replicas = topology
        .replicas
        .iter()
        .cloned()
        .map(|node| row("replica", node))
        .collect_view();
    let sentinels = topology
        .sentinels
        .iter()
        .cloned()
        .map(|node| row("sentinel", node))
        .collect_view();
    view! {
        <section class="panel" data-testid="topology">
            <h2>{texts.topology_heading} ": " <code translate="no">{topology.master_name.clone()}</code></h2>
            <table class="data-table">
                <thead><tr>
                    <th>{texts.col_role}</th><th>{texts.col_address}</th><th>{texts.col_state}</th>
                    <th>{texts.col_lag}</th><th>{texts.col_flags}</th>
                </tr></thead>
                <tbody>{master}{replicas}{sentinels}</tbody>
            </table>
        </section>
    }
    .into_any()
}
