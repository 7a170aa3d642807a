//! Settings of a running server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use callout_template::Catalogue;
use ipnet::IpNet;

use crate::dispatch::guard::Guard;
use crate::dispatch::http::{Client, Deadlines, SystemResolver};
use crate::dispatch::retry::parse_schedule;

/// The settings of `callout serve`.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Database URL, such as `sqlite://data/callout.db`.
    pub database_url: String,
    /// Folder of the built admin page.
    pub web_dir: PathBuf,
    /// The deployment's extra agent columns, each an `agent.<column>` tag.
    pub agent_columns: Vec<String>,
    /// Deadlines, retries and address rules of call-outs.
    pub dispatch: DispatchSettings,
    /// Limits on what clients send.
    pub limits: Limits,
}

/// Limits on input, each with a clear error when it is passed.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Maximum size of a CSV upload, in bytes. A larger one gets 413.
    pub max_upload_bytes: usize,
    /// Maximum size of a JSON body, in bytes. A larger one gets 413.
    pub max_json_bytes: usize,
    /// Maximum length of a hook URL template, in bytes.
    pub max_template_bytes: usize,
    /// Maximum number of hooks of one client.
    pub max_hooks_per_client: i64,
    /// Maximum number of contacts in one upload.
    pub max_rows_per_import: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_upload_bytes: 64 * 1024 * 1024,
            max_json_bytes: 1024 * 1024,
            max_template_bytes: 8 * 1024,
            max_hooks_per_client: 200,
            max_rows_per_import: 1_000_000,
        }
    }
}

impl Settings {
    /// Returns the catalogue of this deployment.
    pub fn catalogue(&self) -> Catalogue {
        Catalogue::new(self.agent_columns.clone())
    }
}

/// Deadlines, retries and address rules of call-outs.
#[derive(Clone, Debug)]
pub struct DispatchSettings {
    /// Deadline for resolving the host and opening the connection.
    pub connect_timeout: Duration,
    /// Deadline for the whole exchange, connection included.
    pub request_timeout: Duration,
    /// Delays before the second, third and later attempts. A delivery fails for good after
    /// `1 + retry_delays.len()` attempts.
    pub retry_delays: Vec<Duration>,
    /// How much each retry delay varies at random, as a fraction (0.2 is ±20 %).
    pub jitter: f64,
    /// Deliveries attempted at the same time, at most.
    pub concurrency: usize,
    /// Networks that call-outs may reach although the address guard denies them.
    pub allowed_networks: Vec<IpNet>,
    /// A hook whose call-outs all fail for this long is disabled.
    pub disable_after: Duration,
}

impl DispatchSettings {
    /// Returns the HTTP client that makes call-outs with these settings.
    pub fn client(&self) -> Client {
        let deadlines = Deadlines {
            connect: self.connect_timeout,
            total: self.request_timeout,
        };
        Client::new(
            Guard::new(self.allowed_networks.clone()),
            Arc::new(SystemResolver),
            deadlines,
        )
    }
}

impl Default for DispatchSettings {
    fn default() -> DispatchSettings {
        DispatchSettings {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            retry_delays: parse_schedule(DEFAULT_RETRY_SCHEDULE)
                .expect("the default schedule is valid"),
            jitter: 0.2,
            concurrency: 64,
            allowed_networks: Vec::new(),
            disable_after: Duration::from_secs(5 * 86400),
        }
    }
}

/// Delays before the second to eighth attempts: a delivery is tried for about 28 hours.
pub const DEFAULT_RETRY_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";
