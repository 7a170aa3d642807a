//! Settings of a running server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use callout_template::Catalogue;

/// What `callout serve` runs with.
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
    /// How call-outs are made.
    pub dispatch: DispatchSettings,
}

impl Settings {
    /// Returns the catalogue of this deployment.
    pub fn catalogue(&self) -> Catalogue {
        Catalogue::new(self.agent_columns.clone())
    }
}

/// Deadlines and retries of call-outs.
#[derive(Clone, Debug)]
pub struct DispatchSettings {
    /// Deadline for opening the connection.
    pub connect_timeout: Duration,
    /// Deadline for the whole exchange, connection included.
    pub request_timeout: Duration,
    /// Delays before the second, third and later attempts. A delivery fails for good after
    /// `1 + retry_delays.len()` attempts.
    pub retry_delays: Vec<Duration>,
    /// Deliveries attempted at the same time, at most.
    pub concurrency: usize,
}

impl Default for DispatchSettings {
    fn default() -> DispatchSettings {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        DispatchSettings {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            retry_delays: vec![
                Duration::from_secs(5),
                minutes(5),
                minutes(30),
                minutes(120),
                minutes(300),
                minutes(600),
                minutes(600),
            ],
            concurrency: 32,
        }
    }
}
