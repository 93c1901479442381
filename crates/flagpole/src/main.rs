use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    flagpole::run(flagpole::config::Cli::parse()).await
}
