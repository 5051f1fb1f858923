//! Integration tests: the real HTTP app, in process, against real `redis-server` processes
//! started per test on free loopback ports.

// A failed setup step should stop the test with its message; that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod alerts;
mod architecture;
mod bodies;
mod census;
mod client;
mod cluster;
mod commands;
mod demo;
mod diagnostics;
mod flush;
mod harness;
mod live;
mod metrics;
mod operations;
mod packaging;
mod rate_limit;
mod replicas;
mod security;
mod sentinel;
mod skeleton;
#[path = "../support/cluster.rs"]
mod support;
mod targets;
mod viewers;
mod wire;
