//! Who is connected: `CLIENT LIST` grouped by connection name and by address, with idle
//! times, output-buffer memory, blocked clients and each group's last command; warnings when
//! connections approach `maxclients` or an output buffer grows large.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::slowlog::OWN_CLIENT_NAME;
use crate::model::wire::FromJson;

/// One connection as `CLIENT LIST` describes it (the fields cachepanel uses).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientLine {
    pub address: String,
    pub name: String,
    pub idle_seconds: u64,
    pub blocked: bool,
    pub output_buffer_bytes: u64,
    pub last_command: String,
}

/// Parses `CLIENT LIST` (one connection per line of `field=value` pairs).
pub fn parse_client_list(text: &str) -> Vec<ClientLine> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut client = ClientLine::default();
            for pair in line.split(' ') {
                let Some((field, value)) = pair.split_once('=') else {
                    continue;
                };
                match field {
                    "addr" => client.address = value.to_owned(),
                    "name" => client.name = value.to_owned(),
                    "idle" => client.idle_seconds = value.parse().unwrap_or(0),
                    // `b`: waiting in a blocking command (BLPOP, XREAD BLOCK, WAIT…).
                    "flags" => client.blocked = value.contains('b'),
                    "omem" => client.output_buffer_bytes = value.parse().unwrap_or(0),
                    "cmd" => client.last_command = value.to_owned(),
                    _ => {}
                }
            }
            client
        })
        .collect()
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct ClientGroup {
    /// The connection name, or the host of the address; empty: connections without a name.
    pub label: String,
    pub connections: u64,
    pub blocked: u64,
    pub idle_min_seconds: u64,
    pub idle_max_seconds: u64,
    pub output_buffer_bytes: u64,
    pub max_output_buffer_bytes: u64,
    /// The command of the group's most recently active connection ("client|list").
    pub last_command: String,
    /// cachepanel's own connections.
    pub own: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClientWarning {
    /// Connections at or over `CLIENTS_WARNING_PERCENT` of `maxclients`.
    NearMaxclients { connections: u64, maxclients: u64 },
    /// A connection's output buffer at or over the configured bytes (a slow reader, a
    /// `MONITOR`, a big reply piling up).
    LargeOutputBuffer { label: String, bytes: u64 },
}

/// Share of `maxclients` from which the connection count is a warning.
pub const CLIENTS_WARNING_PERCENT: u64 = 80;
/// Groups listed per grouping; the rest are summed into "others".
pub const LISTED_GROUPS: usize = 20;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct ClientsView {
    pub read_at_ms: i64,
    pub connections: u64,
    pub blocked: u64,
    pub maxclients: Option<u64>,
    pub by_name: Vec<ClientGroup>,
    pub by_address: Vec<ClientGroup>,
    pub warnings: Vec<ClientWarning>,
    /// Why the client list cannot be read (CLIENT renamed or forbidden); the rest still works.
    pub unavailable: Option<String>,
}

fn host(address: &str) -> &str {
    address
        .rsplit_once(':')
        .map_or(address, |(host, _port)| host)
}

fn group_by(clients: &[ClientLine], label: impl Fn(&ClientLine) -> &str) -> Vec<ClientGroup> {
    let mut groups: BTreeMap<&str, (ClientGroup, u64)> = BTreeMap::new();
    for client in clients {
        let (group, freshest_idle) = groups.entry(label(client)).or_insert_with(|| {
            (
                ClientGroup {
                    label: label(client).to_owned(),
                    idle_min_seconds: u64::MAX,
                    own: true,
                    ..ClientGroup::default()
                },
                u64::MAX,
            )
        });
        group.connections += 1;
        group.blocked += u64::from(client.blocked);
        group.idle_min_seconds = group.idle_min_seconds.min(client.idle_seconds);
        group.idle_max_seconds = group.idle_max_seconds.max(client.idle_seconds);
        group.output_buffer_bytes += client.output_buffer_bytes;
        group.max_output_buffer_bytes = group
            .max_output_buffer_bytes
            .max(client.output_buffer_bytes);
        group.own &= client.name == OWN_CLIENT_NAME;
        if client.idle_seconds < *freshest_idle {
            *freshest_idle = client.idle_seconds;
            group.last_command = client.last_command.clone();
        }
    }
    let mut groups: Vec<ClientGroup> = groups.into_values().map(|(group, _)| group).collect();
    groups.sort_by(|a, b| {
        b.connections
            .cmp(&a.connections)
            .then_with(|| a.label.cmp(&b.label))
    });
    groups.truncate(LISTED_GROUPS);
    groups
}

impl ClientsView {
    pub fn new(
        clients: &[ClientLine],
        maxclients: Option<u64>,
        output_buffer_warning_bytes: u64,
        read_at_ms: i64,
    ) -> Self {
        let connections = clients.len() as u64;
        let mut warnings = Vec::new();
        if let Some(maxclients) = maxclients.filter(|max| *max > 0)
            && connections * 100 >= maxclients * CLIENTS_WARNING_PERCENT
        {
            warnings.push(ClientWarning::NearMaxclients {
                connections,
                maxclients,
            });
        }
        let by_name = group_by(clients, |client| &client.name);
        let by_address = group_by(clients, |client| host(&client.address));
        for group in &by_name {
            if group.max_output_buffer_bytes >= output_buffer_warning_bytes {
                warnings.push(ClientWarning::LargeOutputBuffer {
                    label: group.label.clone(),
                    bytes: group.max_output_buffer_bytes,
                });
            }
        }
        Self {
            read_at_ms,
            connections,
            blocked: clients.iter().filter(|client| client.blocked).count() as u64,
            maxclients,
            by_name,
            by_address,
            warnings,
            unavailable: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "id=3 addr=10.0.0.5:43210 laddr=10.0.0.1:6379 fd=8 name=web age=9 idle=0 flags=N db=0 omem=0 tot-mem=22298 cmd=keys user=default\n\
id=4 addr=10.0.0.5:43211 laddr=10.0.0.1:6379 fd=9 name=web age=9 idle=7 flags=N db=0 omem=20000000 cmd=get user=default\n\
id=5 addr=10.0.0.6:5000 laddr=10.0.0.1:6379 fd=10 name= age=3 idle=3 flags=b db=0 omem=0 cmd=blpop user=default\n\
id=6 addr=[::1]:6000 laddr=[::1]:6379 fd=11 name=cachepanel age=3 idle=1 flags=N db=0 omem=0 cmd=info user=default\n";

    #[test]
    fn connections_group_by_name_and_by_host() {
        let clients = parse_client_list(LIST);
        let view = ClientsView::new(&clients, Some(5), 16 << 20, 0);
        assert_eq!((view.connections, view.blocked), (4, 1));
        let web = &view.by_name[0];
        assert_eq!(
            (
                web.label.as_str(),
                web.connections,
                web.idle_min_seconds,
                web.idle_max_seconds
            ),
            ("web", 2, 0, 7)
        );
        assert_eq!(web.last_command, "keys", "the most recently active one's");
        assert_eq!(web.output_buffer_bytes, 20_000_000);
        assert!(!web.own);
        let own = view
            .by_name
            .iter()
            .find(|g| g.label == "cachepanel")
            .unwrap();
        assert!(own.own);
        let hosts: Vec<&str> = view.by_address.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(hosts, ["10.0.0.5", "10.0.0.6", "[::1]"]);
        assert_eq!(
            view.warnings,
            [
                ClientWarning::NearMaxclients {
                    connections: 4,
                    maxclients: 5
                },
                ClientWarning::LargeOutputBuffer {
                    label: "web".into(),
                    bytes: 20_000_000
                }
            ]
        );
    }

    #[test]
    fn few_connections_and_small_buffers_warn_of_nothing() {
        let view = ClientsView::new(&parse_client_list(LIST), Some(10_000), 32 << 20, 0);
        assert!(view.warnings.is_empty());
        assert!(ClientsView::new(&[], None, 1, 0).warnings.is_empty());
    }
}
