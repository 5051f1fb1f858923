//! The `cachepanel` server binary (built with the `ssr` feature).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    cachepanel::server::run().await
}
