//! Release size and Lambda init time of every function, side by side with a
//! hello-world `lambda_runtime` function built with the same profile
//! (BENCHMARKS.md). Init = process start to its first `GET /next` of the
//! Runtime API, through lambda-emu, with the environment template.yaml gives
//! each function (resolved against a local moto stage). Cold starts are
//! interleaved (one of each binary per round) so machine noise hits all
//! alike.
//!
//! `cargo run -p lambda-emu --bin bench-init -- --runs 40 --no-jitter-variant`
//! (the harness itself may be a debug build: it only starts processes and
//! waits for their first request).
//!
//! With `--first-invoke`, also each function's cold start as Lambda bills
//! and a caller waits for it: init plus the first invocation (an event that
//! makes the function's first AWS calls: a schedule, a refused SQS record,
//! a label request for an unknown seller), against a second, warm one. With
//! `--before-bin-dir`, binaries of an earlier build are measured in the same
//! run (a before/after of a change).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use devstack::{MotoServer, Template};
use lambda_emu::env::{FunctionSpec, LocalOverrides, binary_name, function_spec};
use lambda_emu::{Binaries, BuildProfile, Function, Outcome, events};

#[derive(Parser, Debug)]
#[command(about = "Release binary sizes and init times vs a hello-world lambda_runtime function")]
struct Args {
    /// Cold starts per binary and variant.
    #[arg(long, default_value_t = 40)]
    runs: usize,
    /// Also build and measure with AWS_LC_SYS_NO_JITTER_ENTROPY=1 (AWS-LC
    /// without its CPU-jitter entropy source; separate target directory).
    #[arg(long)]
    no_jitter_variant: bool,
    /// Target directory of the default variant (default: cargo's).
    #[arg(long)]
    target_dir: Option<PathBuf>,
    /// Measure the debug binaries instead (a quick check of the bench itself).
    #[arg(long)]
    debug: bool,
    /// Also measure every function with `SSL_CERT_FILE` set to this CA
    /// bundle: the root store as on Lambda's OS (one bundle file) instead of
    /// this machine's (Debian also has a directory of ~290 hashed certificate
    /// files, which the TLS clients read at init).
    #[arg(long)]
    cert_file: Option<PathBuf>,
    /// Also measure the cold start as a caller sees it: init + the first
    /// invocation, and a second (warm) invocation, per function.
    #[arg(long)]
    first_invoke: bool,
    /// Also measure the functions' binaries found in this directory (e.g. a
    /// release build of the previous commit: `target/release` of another
    /// checkout), labelled `before`; the hello-world is this build's.
    #[arg(long)]
    before_bin_dir: Option<PathBuf>,
}

struct Variant {
    label: String,
    binaries: Binaries,
}

/// A first invocation that reaches AWS (moto) the way production traffic
/// does: the schedule's own event, an SQS record the function refuses and
/// dead-letters, a label request for a seller that does not exist (a table
/// read, then a 404). No seller is onboarded, so nothing calls the SP-API.
fn first_event(
    template: &Template,
    resources: &devstack::Provisioned,
    binary: &str,
) -> Result<Option<serde_json::Value>, Box<dyn std::error::Error>> {
    Ok(match binary {
        "order-pull" => Some(events::schedule(
            template,
            "OrderPullFunction",
            "Every15Minutes",
        )?),
        "inventory-push" => Some(events::schedule(
            template,
            "InventoryPushFunction",
            "Hourly",
        )?),
        "shipment-confirm" => {
            let source = events::SqsSource::from_template(
                template,
                resources,
                "ShipmentConfirmFunction",
                "Shipments",
            )?;
            let id = uuid::Uuid::new_v4().to_string();
            Some(devstack::lambda_sqs::event(
                &source.queue_arn,
                [devstack::lambda_sqs::Record {
                    message_id: &id,
                    receipt_handle: &id,
                    body: r#"{"bench": "not a shipment"}"#,
                }],
            ))
        }
        "labels" => Some(events::function_url_request(
            "POST",
            "/",
            &[("content-type", "application/json")],
            Some(
                br#"{"schema": 1, "operation": "track", "seller_id": "A1BENCHNOSELLER", "shipment_id": "bench-1"}"#,
            ),
        )),
        "hello-lambda" => Some(serde_json::json!({})),
        _ => None,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut packages = lambda_emu::artifacts::PACKAGES.to_vec();
    packages.push("tls-probe");
    let (profile, label) = if args.debug {
        (BuildProfile::Debug, "debug")
    } else {
        (BuildProfile::Release, "release")
    };
    eprintln!("building the {label} binaries...");
    let mut variants = vec![Variant {
        label: label.into(),
        binaries: Binaries::build(profile, &packages, args.target_dir.as_deref(), &[])?,
    }];
    if args.no_jitter_variant {
        eprintln!("building the no-jitter variant (target/bench-nojitter)...");
        let dir = devstack::workspace_root().join("target/bench-nojitter");
        variants.push(Variant {
            label: format!("{label}, AWS_LC_SYS_NO_JITTER_ENTROPY=1"),
            binaries: Binaries::build(
                profile,
                &packages,
                Some(&dir),
                &[("AWS_LC_SYS_NO_JITTER_ENTROPY", "1")],
            )?,
        });
    }

    // The functions' environments, resolved against a local stage in moto.
    let moto = MotoServer::start(&devstack::default_moto_command(&devstack::workspace_root()))?;
    let sdk = devstack::local_sdk_config(&moto.endpoint()).await;
    let template = Template::load(&devstack::template_path())?;
    let stage = format!("bench-init-{:06x}", fastrand::u32(..0xFF_FFFF));
    let resources = devstack::provision(&sdk, &template, &stage, &BTreeMap::new()).await?;
    // What a deployment sets that the template leaves as a placeholder (the
    // onboarding function refuses to start without its application id).
    let local = LocalOverrides::default()
        .aws_endpoint(&moto.endpoint())
        .var("SPAPI_APPLICATION_ID", "amzn1.sp.solution.bench-init");

    if let Some(bundle) = &args.cert_file {
        let base = variants[0].binaries.clone();
        variants.push(Variant {
            label: format!("{}, SSL_CERT_FILE={}", variants[0].label, bundle.display()),
            binaries: base,
        });
    }
    let cert_variant = args.cert_file.as_ref().map(|_| variants.len() - 1);
    let before_variant = match &args.before_bin_dir {
        Some(dir) => {
            let mut paths = BTreeMap::new();
            for logical_id in template.functions() {
                let name = binary_name(&template, &logical_id)?;
                let path = dir.join(&name);
                if !path.is_file() {
                    return Err(format!("{}: no binary {name}", dir.display()).into());
                }
                paths.insert(name, path);
            }
            let hello = variants[0].binaries.get("hello-lambda")?.to_path_buf();
            paths.insert("hello-lambda".into(), hello);
            variants.push(Variant {
                label: format!("{}, before ({})", variants[0].label, dir.display()),
                binaries: Binaries { paths },
            });
            Some(variants.len() - 1)
        }
        None => None,
    };

    // (variant, binary name) → function
    let mut functions: Vec<(usize, String, Function)> = Vec::new();
    for (vi, v) in variants.iter().enumerate() {
        let local = match (&args.cert_file, cert_variant == Some(vi)) {
            (Some(bundle), true) => local
                .clone()
                .var("SSL_CERT_FILE", &bundle.display().to_string()),
            _ => local.clone(),
        };
        for logical_id in template.functions() {
            let name = binary_name(&template, &logical_id)?;
            let spec = function_spec(
                &template,
                &resources,
                &logical_id,
                v.binaries.get(&name)?.to_path_buf(),
                &local,
            )?;
            functions.push((vi, name, Function::new(spec)));
        }
        let hello = FunctionSpec::bare(
            "hello-lambda",
            v.binaries.get("hello-lambda")?.to_path_buf(),
            128,
            Duration::from_secs(3),
        );
        functions.push((vi, "hello-lambda".into(), Function::new(hello)));
    }

    let mut inits: Vec<Vec<Duration>> = vec![Vec::new(); functions.len()];
    eprintln!(
        "{} cold starts of each of {} binaries...",
        args.runs,
        functions.len()
    );
    for _ in 0..args.runs {
        for (i, (_, name, f)) in functions.iter().enumerate() {
            match f.start().await? {
                Ok(init) => inits[i].push(init),
                Err(failure) => return Err(format!("{name}: init failed: {failure}").into()),
            }
            f.stop().await;
        }
    }

    println!("| binary | build | size | init median | init p90 | median vs hello-world |");
    println!("|---|---|---:|---:|---:|---:|");
    for (vi, v) in variants.iter().enumerate() {
        let hello_median = functions
            .iter()
            .zip(&inits)
            .find(|((fv, name, _), _)| *fv == vi && name == "hello-lambda")
            .map(|(_, d)| {
                let mut d = d.clone();
                d.sort();
                percentile(&d, 50.0)
            })
            .unwrap_or_default();
        for ((fv, name, f), samples) in functions.iter().zip(&inits) {
            if *fv != vi {
                continue;
            }
            let mut sorted = samples.clone();
            sorted.sort();
            let median = percentile(&sorted, 50.0);
            let size = std::fs::metadata(&f.spec().binary)?.len();
            println!(
                "| {name} | {} | {:.1} MB | {} ms | {} ms | {:.2}× |",
                v.label,
                size as f64 / 1_000_000.0,
                ms(median),
                ms(percentile(&sorted, 90.0)),
                median.as_secs_f64() / hello_median.as_secs_f64().max(f64::EPSILON)
            );
        }
    }
    println!(
        "\n{} cold starts per binary, interleaved; init = process start to its first GET /next.",
        args.runs
    );

    if args.first_invoke {
        first_invocations(&args, &variants, &functions, &template, &resources).await?;
    }

    // The first draw of AWS-LC randomness (a TLS client hello): not part of
    // init for our functions, but of each container's first HTTPS call.
    println!(
        "\n| build | first TLS hello (median) | second (median) | one-time cost (median of first − second) |"
    );
    println!("|---|---:|---:|---:|");
    for (vi, v) in variants.iter().enumerate() {
        if cert_variant == Some(vi) || before_variant == Some(vi) {
            continue;
        }
        let probe = v.binaries.get("tls-probe")?;
        let mut first = Vec::new();
        let mut second = Vec::new();
        let mut extra = Vec::new();
        for _ in 0..args.runs {
            let out = std::process::Command::new(probe).output()?;
            let text = String::from_utf8_lossy(&out.stdout);
            let mut it = text
                .split_whitespace()
                .filter_map(|n| n.parse::<u64>().ok());
            if let (Some(a), Some(b)) = (it.next(), it.next()) {
                first.push(Duration::from_micros(a));
                second.push(Duration::from_micros(b));
                extra.push(Duration::from_micros(a.saturating_sub(b)));
            }
        }
        for d in [&mut first, &mut second, &mut extra] {
            d.sort();
        }
        println!(
            "| {} | {} ms | {} ms | {} ms |",
            v.label,
            ms(percentile(&first, 50.0)),
            ms(percentile(&second, 50.0)),
            ms(percentile(&extra, 50.0))
        );
    }
    Ok(())
}

/// Cold start as a caller sees it (init + first invocation) against a warm
/// invocation, per function and variant, interleaved like the init runs.
async fn first_invocations(
    args: &Args,
    variants: &[Variant],
    functions: &[(usize, String, Function)],
    template: &Template,
    resources: &devstack::Provisioned,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut samples: Vec<[Vec<Duration>; 3]> = vec![Default::default(); functions.len()];
    eprintln!(
        "{} cold starts with a first and a second invocation of each of {} binaries...",
        args.runs,
        functions.len()
    );
    for round in 0..args.runs {
        for (i, (_, name, f)) in functions.iter().enumerate() {
            let Some(event) = first_event(template, resources, name)? else {
                continue;
            };
            f.stop().await;
            let first = f.invoke(&event).await?;
            let (Some(init), Outcome::Response(_)) = (first.init_duration, &first.outcome) else {
                return Err(format!("{name}: first invocation: {:?}", first.outcome).into());
            };
            if round == 0 {
                let answer = first.payload().to_string();
                eprintln!("{name}: {}", answer.chars().take(160).collect::<String>());
            }
            let second = f.invoke(&event).await?;
            if !matches!(second.outcome, Outcome::Response(_)) {
                return Err(format!("{name}: second invocation: {:?}", second.outcome).into());
            }
            samples[i][0].push(first.duration);
            samples[i][1].push(init + first.duration);
            samples[i][2].push(second.duration);
            f.stop().await;
        }
    }
    println!(
        "\n| binary | build | first invocation median | p90 | init + first median | p90 | warm invocation median |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for ((vi, name, _), s) in functions.iter().zip(&mut samples) {
        if s[0].is_empty() {
            continue;
        }
        for d in s.iter_mut() {
            d.sort();
        }
        println!(
            "| {name} | {} | {} ms | {} ms | {} ms | {} ms | {} ms |",
            variants[*vi].label,
            ms(percentile(&s[0], 50.0)),
            ms(percentile(&s[0], 90.0)),
            ms(percentile(&s[1], 50.0)),
            ms(percentile(&s[1], 90.0)),
            ms(percentile(&s[2], 50.0)),
        );
    }
    Ok(())
}
