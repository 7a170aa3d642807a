//! The loop that serves the router on each accepted connection, with deadlines for slow
//! clients, which `axum::serve` does not set: request headers must arrive within a deadline,
//! and a request body may not pause for longer than another ([`ClientDeadlines`]).

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::{Extension, Router};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// Deadlines for clients of the HTTP server, so that a slow or stalled client cannot hold a
/// connection open for ever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientDeadlines {
    /// Time a client has to send its request line and headers. When it passes, the connection
    /// is closed without a response.
    pub header_read: Duration,
    /// Time a request body may go without sending data. When it passes, the request gets
    /// 408 Request Timeout.
    pub body_idle: Duration,
}

impl Default for ClientDeadlines {
    fn default() -> ClientDeadlines {
        ClientDeadlines {
            header_read: Duration::from_secs(30),
            body_idle: Duration::from_secs(30),
        }
    }
}

/// Time the connections still open at shutdown have to finish their requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `stop` turns true, then lets the requests under way finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    deadlines: ClientDeadlines,
    mut stop: watch::Receiver<bool>,
) {
    let app = app.layer(RequestBodyTimeoutLayer::new(deadlines.body_idle));
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // For example out of file descriptors: wait a little rather than spin.
                    tracing::warn!(%error, "failed to accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let service = TowerToHyperService::new(
            app.clone()
                .layer(Extension(ConnectInfo::<SocketAddr>(peer))),
        );
        // HTTP/1.1 only: the automatic choice of HTTP/1 or HTTP/2 reads the first bytes of a
        // connection before any deadline applies, so a client that sent nothing would keep its
        // connection, and a file descriptor, for as long as it liked.
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(deadlines.header_read)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }

    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open when the shutdown grace period ended");
    }
}
