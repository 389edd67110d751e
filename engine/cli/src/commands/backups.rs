//! `shutter backups list|show`: the backup catalog of the embedded store,
//! or of a server with `--server URL`. Both print through the server's own
//! view types, so a local and a remote answer look the same.

use std::process::ExitCode;

use anyhow::{Context, bail};
use shutter_core::record::Timestamp;
use shutter_core::{BackupKind, BackupQuery, BackupState};
use shutter_server::views::{BackupPage, BackupView};
use shutter_store::Durability;

use crate::client::{Client, PlaceArgs, encode};
use crate::db::{self, DbArgs, EngineArgs};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Backups Shutter made or adopted, newest first.
    List {
        /// Only backups of this source: its id (`vol-...`, a VM's moRef),
        /// its lasting uuid (a VM's instanceUuid) or its full reference
        /// (`vsphere:<vcenter>/vm/vm-42`).
        #[arg(long, value_name = "REF")]
        source: Option<String>,
        /// aws, openstack or vsphere.
        #[arg(long)]
        provider: Option<String>,
        /// available, deleted or missing.
        #[arg(long)]
        state: Option<String>,
        /// The kind: an EBS snapshot (`ebs_snapshot`), `ami`, `glance_image` or `vsphere_snapshot`.
        #[arg(long)]
        kind: Option<String>,
        /// Only those recorded since: a duration back from now (`7d`) or
        /// a time (RFC 3339).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Entries per page, 1 to 500.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Continue after this entry (the page before ends with it).
        #[arg(long, value_name = "ID")]
        cursor: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        place: PlaceArgs,
    },
    /// Reconciles the catalog with the clouds: what carries Shutter's
    /// marks is cataloged (a lost catalog is rebuilt), what vanished is
    /// marked missing. Deletes nothing. Runs `backups.sync` as a one-step
    /// execution on the embedded store (or `--db`), recorded like any other.
    /// With no place named, the places listed under `backups.sync` in
    /// Shutter's config file.
    Sync {
        /// An AWS region to reconcile (repeat for more).
        #[arg(long = "aws-region", value_name = "REGION")]
        aws_regions: Vec<String>,
        /// An EC2 endpoint instead of AWS's (an emulator such as moto).
        #[arg(long, value_name = "URL")]
        aws_endpoint_url: Option<String>,
        /// How long a fresh EBS snapshot may take to show in EC2's lists.
        #[arg(long, default_value = "10m", value_name = "DURATION")]
        aws_grace: String,
        /// A vCenter: a connection in Shutter's config, or `default` for
        /// govc's `GOVC_*` variables (repeat for more).
        #[arg(long = "vcenter", value_name = "NAME")]
        vcenters: Vec<String>,
        /// An OpenStack cloud, a clouds.yaml entry (repeat for more).
        #[arg(long = "cloud", value_name = "NAME")]
        clouds: Vec<String>,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// One catalog entry: where it is, of what, made by which execution.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        place: PlaceArgs,
    },
}

pub(crate) async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Sync {
            aws_regions,
            aws_endpoint_url,
            aws_grace,
            vcenters,
            clouds,
            db,
            engine,
        } => {
            // The flags become the step's parameters, where `${{` starts
            // an expression: a name never holds one.
            let given = aws_regions.iter().chain(&vcenters).chain(&clouds);
            if let Some(odd) = given
                .chain(aws_endpoint_url.iter())
                .chain(std::iter::once(&aws_grace))
                .find(|value| value.contains("${{"))
            {
                bail!("`{odd}`: `${{{{` has no place in a region, vCenter, cloud, URL or duration");
            }
            let mut with = serde_json::json!({
                "aws_regions": aws_regions,
                "aws_grace": aws_grace,
                "vcenters": vcenters,
                "clouds": clouds,
            });
            if let Some(url) = aws_endpoint_url {
                with["aws_endpoint_url"] = serde_json::json!(url);
            }
            // JSON is YAML: the values are data, never parsed as YAML syntax.
            let text = format!(
                "version: 1\nname: backups-sync\nsteps:\n  sync:\n    uses: backups.sync\n    with: {with}\n\
                 outputs:\n  found: ${{{{ steps.sync.outputs.found }}}}\n  places: ${{{{ steps.sync.outputs.places }}}}\n"
            );
            let source = shutter_dsl::Source::new("shutter backups sync", text);
            return crate::commands::run::execute(
                source,
                None,
                |_| Ok(serde_json::Map::new()),
                &db,
                &engine,
            )
            .await;
        }
        Command::List {
            source,
            provider,
            state,
            kind,
            since,
            limit,
            cursor,
            json,
            place,
        } => {
            if !(1..=500).contains(&limit) {
                bail!("--limit must be 1 to 500");
            }
            if let Some(provider) = &provider
                && !PROVIDERS.contains(&provider.as_str())
            {
                bail!(
                    "unknown provider `{provider}` (one of {})",
                    PROVIDERS.join(", ")
                );
            }
            let query = BackupQuery {
                source,
                provider,
                state: state
                    .map(|s| {
                        BackupState::parse(&s).with_context(|| {
                            format!("unknown state `{s}` (one of available, deleted, missing)")
                        })
                    })
                    .transpose()?,
                kind: kind
                    .map(|k| {
                        BackupKind::parse(&k).with_context(|| {
                            format!("unknown kind `{k}` (one of ebs_snapshot, ami, glance_image, vsphere_snapshot)")
                        })
                    })
                    .transpose()?,
                since: since.map(|s| parse_since(&s)).transpose()?,
                before: cursor,
                limit,
            };
            let entries = match place.server.client()? {
                Some(client) => client.get_as::<BackupPage>(&list_path(&query)).await?.items,
                None => local(&place.db, &query).await?,
            };
            print_list(&entries, json)?;
            if !json
                && entries.len() == limit
                && let Some(last) = entries.last()
            {
                eprintln!("(more: --cursor {})", last.id);
            }
        }
        Command::Show { id, json, place } => {
            let entry = match place.server.client()? {
                Some(client) => show_remote(&client, &id).await?,
                None => {
                    let opened = db::open(&place.db, Durability::Normal).await?;
                    let Some(entry) = opened.store.backup(&id).await? else {
                        bail!("no backup {id} in {}", opened.place);
                    };
                    BackupView::from(&entry)
                }
            };
            print_entry(&entry, json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn local(db: &DbArgs, query: &BackupQuery) -> anyhow::Result<Vec<BackupView>> {
    let opened = db::open(db, Durability::Normal).await?;
    let entries = opened.store.backups(query).await?;
    Ok(entries.iter().map(BackupView::from).collect())
}

async fn show_remote(client: &Client, id: &str) -> anyhow::Result<BackupView> {
    client.get_as(&format!("/backups/{}", encode(id))).await
}

/// `7d` back from now, or an RFC 3339 time.
fn parse_since(text: &str) -> anyhow::Result<Timestamp> {
    shutter_core::units::parse_since(text, chrono::Utc::now())
        .map_err(|err| anyhow::anyhow!("--since {err}"))
}

/// The providers a catalog entry can be of.
const PROVIDERS: [&str; 3] = ["aws", "openstack", "vsphere"];

/// `GET /backups` with the query's filters.
fn list_path(query: &BackupQuery) -> String {
    let mut path = format!("/backups?limit={}", query.limit);
    let filters = [
        ("source", query.source.clone()),
        ("provider", query.provider.clone()),
        ("state", query.state.map(|s| s.as_str().to_owned())),
        ("kind", query.kind.map(|k| k.as_str().to_owned())),
        ("since", query.since.map(|t| t.to_rfc3339())),
        ("cursor", query.before.clone()),
    ];
    for (name, value) in filters {
        if let Some(value) = value {
            path.push_str(&format!("&{name}={}", encode(&value)));
        }
    }
    path
}

fn print_list(entries: &[BackupView], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(entries)?);
        return Ok(());
    }
    println!(
        "{:36}  {:16}  {:22}  {:9}  {:19}  {:19}  SOURCE",
        "ID", "KIND", "NATIVE ID", "STATE", "RECORDED", "VERIFIED"
    );
    for entry in entries {
        let source = entry.source.as_ref().map_or("-", |s| s.reference.as_str());
        println!(
            "{:36}  {:16}  {:22}  {:9}  {:19}  {:19}  {source}",
            entry.id,
            entry.kind,
            entry.native_id,
            entry.state,
            entry.recorded_at.format("%Y-%m-%d %H:%M:%S"),
            verified(entry),
        );
    }
    Ok(())
}

/// When it was last proven restorable, or that its last test failed.
fn verified(entry: &BackupView) -> String {
    match (&entry.last_test, entry.verified_at) {
        (Some(test), _) if !test.passed => "FAILED".to_owned(),
        (_, Some(at)) => at.format("%Y-%m-%d %H:%M:%S").to_string(),
        _ => "never".to_owned(),
    }
}

fn print_entry(entry: &BackupView, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(entry)?);
        return Ok(());
    }
    let unknown = || "-".to_owned();
    println!("backup {}  {}  {}", entry.id, entry.kind, entry.state);
    println!("where:        {}", entry.location_key);
    println!("id there:     {}", entry.native_id);
    match &entry.source {
        Some(source) => {
            let uuid = source.uuid.as_deref().map(|u| format!(" (uuid {u})"));
            println!(
                "of:           {}{}",
                source.reference,
                uuid.unwrap_or_default()
            );
        }
        None => println!("of:           -"),
    }
    if let Some(parent) = &entry.derived_from {
        println!("made from:    {parent}");
    }
    let created = entry.created_at.map(|t| t.to_rfc3339());
    println!("created:      {}", created.unwrap_or_else(unknown));
    let size = entry.size_bytes.map(|b| format!("{b} bytes"));
    println!("size:         {}", size.unwrap_or_else(unknown));
    println!("recorded:     {}", entry.recorded_at.to_rfc3339());
    let seen = entry.last_seen_at.map(|t| t.to_rfc3339());
    println!("last seen:    {}", seen.unwrap_or_else(unknown));
    println!(
        "{:13} {}",
        format!("{}:", entry.state),
        entry.state_at.to_rfc3339()
    );
    let made_by = match (&entry.execution, &entry.step) {
        (Some(execution), Some(step)) => format!("execution {execution}, step {step}"),
        (Some(execution), None) => format!("execution {execution}"),
        _ => unknown(),
    };
    println!("made by:      {made_by}");
    let proven = entry.verified_at.map(|t| t.to_rfc3339());
    println!(
        "verified:     {}",
        proven.unwrap_or_else(|| "never".to_owned())
    );
    if let Some(test) = &entry.last_test {
        let verdict = if test.passed { "passed" } else { "FAILED" };
        println!(
            "last test:    {verdict} {}: {}",
            test.at.to_rfc3339(),
            test.detail
        );
    }
    for (key, value) in &entry.tags {
        println!("tag:          {key}={value}");
    }
    Ok(())
}
