//! Callout's server: stores clients, agents, hooks, calling lists and campaigns, fires hooks
//! through a durable outbox, dispatches the call-outs, and serves the JSON API and the admin
//! page.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod contacts_csv;
pub mod db;
pub mod dispatch;
pub mod error;
pub mod http_server;
pub mod metrics;
pub mod outbox;
pub mod time;
pub mod values;
pub mod web;
