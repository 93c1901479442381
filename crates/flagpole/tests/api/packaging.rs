//! The deployment files, checked without a container engine or systemd: what they configure
//! must be options Flagpole has, they must not ship a password, and the image must not run as
//! root. (Renaming an option without updating them fails here.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repository().join(relative)).unwrap()
}

/// Every environment variable Flagpole reads, from its command-line definition.
fn known_variables() -> BTreeSet<String> {
    fn collect(command: &clap::Command, into: &mut BTreeSet<String>) {
        for argument in command.get_arguments() {
            if let Some(name) = argument.get_env() {
                into.insert(name.to_string_lossy().into_owned());
            }
        }
        for sub in command.get_subcommands() {
            collect(sub, into);
        }
    }
    let mut names = BTreeSet::new();
    collect(&flagpole::config::Cli::command(), &mut names);
    assert!(names.contains("DATABASE_URL") && names.contains("HTTP_PORT"));
    names
}

#[test]
fn dockerfile_builds_in_stages_and_runs_unprivileged() {
    let dockerfile = read("Dockerfile");
    let instructions: Vec<&str> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let stages: Vec<usize> = instructions
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("FROM "))
        .map(|(i, _)| i)
        .collect();
    assert!(stages.len() >= 2, "a build stage and a runtime stage");
    let runtime = &instructions[*stages.last().unwrap()..];

    let user = runtime
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the runtime stage names a user");
    assert!(
        !matches!(user.split(':').next(), Some("root" | "0")),
        "runs as {user}"
    );
    assert!(
        instructions
            .iter()
            .any(|l| l.contains("cargo build --release --locked")),
        "builds the locked release"
    );
    // .cargo/config.toml holds build settings (the allocator's run-time defaults) that the
    // image's build must see too.
    assert!(
        instructions.contains(&"COPY .cargo .cargo"),
        "the build stage copies .cargo"
    );

    // The binary the entrypoint runs is the one copied in.
    let entrypoint = runtime
        .iter()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .expect("an entrypoint");
    let binary = entrypoint.trim_matches(|c| "[]\"".contains(c));
    assert!(
        runtime
            .iter()
            .any(|l| l.starts_with("COPY --from=") && l.ends_with(binary)),
        "{binary} is copied into the runtime stage"
    );

    // Every ENV is an option Flagpole reads, and the exposed port is the one it listens on.
    let known = known_variables();
    let mut environment = String::new();
    let mut in_env = false;
    for line in &instructions {
        if line.starts_with("ENV ") || in_env {
            environment.push_str(line.trim_start_matches("ENV ").trim_end_matches('\\'));
            environment.push(' ');
            in_env = line.ends_with('\\');
        }
    }
    let mut port = None;
    for pair in environment.split_whitespace() {
        let (name, value) = pair.split_once('=').unwrap();
        assert!(
            known.contains(name),
            "Dockerfile sets unknown option {name}"
        );
        if name == "HTTP_PORT" {
            port = Some(value.to_owned());
        }
    }
    let exposed = runtime
        .iter()
        .find_map(|l| l.strip_prefix("EXPOSE "))
        .expect("a port is exposed");
    assert_eq!(Some(exposed.to_owned()), port);
}

#[test]
fn compose_file_configures_two_replicas_without_passwords() {
    let compose = read("deploy/compose.yaml");
    let known = known_variables();
    let mut flagpole_services = 0;
    let mut section = String::new();
    let mut in_environment = false;
    for line in compose.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if indent == 2 && trimmed.ends_with(':') {
            section = trimmed.trim_end_matches(':').to_owned();
            if section.starts_with("flagpole") {
                flagpole_services += 1;
            }
        }
        if indent == 4 {
            in_environment = trimmed.starts_with("environment:");
            continue;
        }
        if in_environment && indent == 6 {
            let (name, value) = trimmed.split_once(':').unwrap();
            if section.starts_with("flagpole") {
                assert!(known.contains(name), "compose sets unknown option {name}");
            }
            // Secrets come from the operator's environment, and must be set.
            if name.contains("PASSWORD") || name.contains("TOKEN") || value.contains('@') {
                assert!(
                    value.contains(":?"),
                    "{section}: {name} must require a value from the environment, not ship one"
                );
            }
        }
    }
    assert_eq!(flagpole_services, 2, "two replicas");
    assert!(
        compose.contains("postgres://"),
        "the replicas share PostgreSQL"
    );
}

#[test]
fn systemd_unit_is_valid_and_hardened() {
    let unit = read("deploy/flagpole.service");
    let known = known_variables();
    for line in unit.lines() {
        if let Some(assignment) = line.strip_prefix("Environment=") {
            let name = assignment.split('=').next().unwrap();
            assert!(known.contains(name), "unit sets unknown option {name}");
        }
    }
    for hardening in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "DynamicUser=yes",
    ] {
        assert!(unit.contains(hardening), "{hardening}");
    }
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    assert!(exec.ends_with(" serve"));

    // systemd's own checker, pointed at the binary under test.
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: systemd-analyze verify (systemd-analyze is not installed)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("flagpole.service");
    let binary = env!("CARGO_BIN_EXE_flagpole");
    std::fs::write(&copy, unit.replace("/usr/local/bin/flagpole", binary)).unwrap();
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    let complaints = String::from_utf8_lossy(&output.stderr);
    let complaints: Vec<&str> = complaints
        .lines()
        // Only this unit's problems: the checker also reports on the machine's own units.
        .filter(|l| l.contains("flagpole.service"))
        .collect();
    assert!(
        output.status.success() && complaints.is_empty(),
        "{complaints:?}"
    );
}

#[test]
fn version_is_printed() {
    let output = Command::new(env!("CARGO_BIN_EXE_flagpole"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("flagpole {}", env!("CARGO_PKG_VERSION"))
    );
}
