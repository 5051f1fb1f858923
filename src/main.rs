//! The `cachepanel` server binary (built with the `ssr` feature).

fn main() -> std::process::ExitCode {
    // Server-side rendering nests deep futures; 8 MiB stacks (instead of 2) leave headroom.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(cachepanel::server::run()),
        Err(error) => {
            eprintln!("cachepanel: cannot start the async runtime: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
