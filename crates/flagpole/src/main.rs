use clap::Parser;

/// jemalloc rather than the C library's allocator: with one allocation arena per thread, glibc
/// kept tens of megabytes that the server had freed (the start-up's temporary work, the
/// previous snapshot's caches) resident for good. jemalloc hands freed pages back to the system
/// within a third of a second, from a background thread; its settings are built in through
/// `.cargo/config.toml`, and `MALLOC_CONF` overrides them at run time.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    flagpole::run(flagpole::config::Cli::parse()).await
}
