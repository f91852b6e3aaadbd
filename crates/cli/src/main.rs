//! `imagescope`: the protocol core from a terminal, and a black-box handle for tests.

mod error;
mod http;
mod login;
mod pull;
mod store_fs;
mod ls;
mod report;
mod resolve;
mod serve;

use clap::{Parser, Subcommand};
use error::CliError;
use http::{NativeTransport, SystemClock};
use login::Network;
use imagescope_core::auth::kube_secret::docker_registry_secret_yaml;
use imagescope_core::client::Client;
use imagescope_core::error::Error;
use imagescope_core::reference::Reference;
use serde_json::json;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "imagescope", version, about = "See what a container runtime sees when it pulls an image.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and normalise an image reference, as docker and kubelet do.
    Ref {
        reference: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        network: Network,
    },
    /// Resolve an image on its registry: manifest or index, platform, config, layers, ImageStatus.
    Inspect {
        reference: String,
        /// The platform to pick from an index (os/arch[/variant]); linux/amd64 by default.
        #[arg(long)]
        platform: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        login: login::LoginArgs,
        #[command(flatten)]
        network: Network,
    },
    /// List the tags of a repository, following the registry's pages.
    Tags {
        reference: String,
        /// Tags per page asked of the registry.
        #[arg(short = 'n', long, default_value_t = 1000)]
        page_size: u32,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        login: login::LoginArgs,
        #[command(flatten)]
        network: Network,
    },
    /// Print the kubernetes.io/dockerconfigjson Secret `kubectl create secret docker-registry` would create.
    Secret {
        name: String,
        #[arg(long)]
        docker_server: String,
        #[arg(long)]
        docker_username: String,
        /// Read the password from standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long)]
        docker_email: Option<String>,
        #[arg(long, short = 'n')]
        namespace: Option<String>,
    },
    /// List the files of a layer, or of the merged image filesystem.
    Ls(ls::LsArgs),
    /// Serve the built app with a same-origin registry proxy at /proxy/, for registries that send no CORS headers.
    Serve(serve::ServeArgs),
    /// PullImage: download and verify every blob of an image into the local store.
    Pull(pull::PullArgs),
    /// ListImages: the images in the local store.
    Images(pull::ImagesArgs),
    /// RemoveImage: remove a stored image and the blobs no other image uses.
    Rmi(pull::RmiArgs),
    /// ImageStatus of a stored image, as JSON ({"image": null} when absent).
    Status(pull::StatusArgs),
    /// Save a stored image as a tar for docker load, podman load and skopeo.
    Save(pull::SaveArgs),
    /// Re-hash every stored blob and report damaged or missing ones.
    Fsck(pull::FsckArgs),
}

/// Prints the failure as one line on stderr (and as JSON on stdout when asked) and picks the exit code.
pub(crate) fn fail(error: &CliError, json_out: bool) -> ExitCode {
    let code = error.code();
    let line = match &code {
        Some(c) if !error.to_string().contains(c.as_str()) => format!("imagescope: {error} [{c}]"),
        _ => format!("imagescope: {error}"),
    };
    eprintln!("{}", line.replace('\n', " "));
    if json_out {
        println!("{}", json!({"error": {"kind": error.kind(), "code": code, "status": error.status(), "message": error.to_string()}}));
    }
    ExitCode::FAILURE
}

fn parse_reference(input: &str, json_out: bool) -> Result<Reference, ExitCode> {
    Reference::parse(input).map_err(|e| fail(&Error::Reference(e).into(), json_out))
}

fn run_ref(input: &str, json_out: bool, network: &Network) -> ExitCode {
    let reference = match parse_reference(input, json_out) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if json_out {
        println!("{}", serde_json::to_string_pretty(&report::reference_json(input, &reference, &network.hosts())).expect("json"));
    } else {
        print!("{}", report::reference_text(&reference, &network.hosts()));
    }
    ExitCode::SUCCESS
}

fn run_inspect(input: &str, platform: Option<&str>, json_out: bool, login: &login::LoginArgs, network: &Network) -> ExitCode {
    let reference = match parse_reference(input, json_out) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match resolve::inspect(&reference, platform, login, network) {
        Ok(resolved) => {
            if json_out {
                let v = report::inspection_json(input, &resolved.inspection, &resolved.candidate.reason, &resolved.client.exchanges(), &network.hosts());
                println!("{}", serde_json::to_string_pretty(&v).expect("json"));
            } else {
                print!("{}", report::inspection_text(&resolved.inspection, &resolved.candidate.reason));
            }
            ExitCode::SUCCESS
        }
        Err(e) if e.is_absent() => {
            eprintln!("imagescope: image not present: {} ({e})", reference.canonical());
            if json_out {
                println!("{}", json!({"image": null}));
            } else {
                println!("Image {} is not present on {}", reference.canonical(), reference.domain());
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e, json_out),
    }
}

fn run_tags(input: &str, page_size: u32, json_out: bool, login: &login::LoginArgs, network: &Network) -> ExitCode {
    let reference = match parse_reference(input, json_out) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let candidates = match login.candidates(&reference) {
        Ok(c) => c,
        Err(e) => return fail(&e, json_out),
    };
    let endpoint = reference.endpoint(&network.hosts());
    let candidate = &candidates[0];
    let result = Client::new(NativeTransport::new(), SystemClock, &endpoint, candidate.credential.clone())
        .and_then(|client| pollster::block_on(client.all_tags(reference.path(), page_size, 10_000)));
    match result {
        Ok(tags) if json_out => {
            println!("{}", json!({"name": reference.name(), "tags": tags}));
            ExitCode::SUCCESS
        }
        Ok(tags) => {
            for t in tags {
                println!("{t}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.into(), json_out),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Ref { reference, json, network } => run_ref(reference, *json, network),
        Command::Inspect { reference, platform, json, login, network } => {
            run_inspect(reference, platform.as_deref(), *json, login, network)
        }
        Command::Tags { reference, page_size, json, login, network } => run_tags(reference, *page_size, *json, login, network),
        Command::Secret { name, docker_server, docker_username, docker_email, namespace, .. } => {
            let mut password = String::new();
            if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut password) {
                eprintln!("imagescope: cannot read the password from stdin: {e}");
                return ExitCode::FAILURE;
            }
            print!(
                "{}",
                docker_registry_secret_yaml(
                    name,
                    namespace.as_deref(),
                    docker_server,
                    docker_username,
                    password.trim_end_matches(['\r', '\n']),
                    docker_email.as_deref()
                )
            );
            ExitCode::SUCCESS
        }
        Command::Ls(args) => ls::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Pull(args) => pull::run(args),
        Command::Images(args) => pull::images(args),
        Command::Rmi(args) => pull::rmi(args),
        Command::Status(args) => pull::status(args),
        Command::Save(args) => pull::save(args),
        Command::Fsck(args) => pull::fsck(args),
    }
}
