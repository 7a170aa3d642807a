//! End to end: clients of the API that send their request slowly or stop half-way are cut off
//! at the server's deadlines, and the server goes on serving other requests.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use callout_e2e::{Server, ServerConfig};

/// The deadlines the server under test is started with.
const DEADLINE: Duration = Duration::from_secs(1);

/// How long a test waits for the server to act on a deadline before it fails.
const PATIENCE: Duration = Duration::from_secs(15);

fn start_server() -> Server {
    Server::start_with(ServerConfig {
        args: ["--header-read-timeout", "1s", "--body-idle-timeout", "1s"]
            .iter()
            .map(|arg| arg.to_string())
            .collect(),
        ..ServerConfig::default()
    })
}

/// Opens a connection to `server` and sends `text`, leaving the connection open.
fn send_part(server: &Server, text: &str) -> TcpStream {
    let address = server.url().trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&address).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(text.as_bytes()).unwrap();
    stream
}

/// Reads until the server closes the connection, and returns the bytes it sent and how long it
/// took to close.
/// Fails if the server keeps the connection open past [`PATIENCE`].
fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => received.extend_from_slice(&buffer[..count]),
            Err(error) if error.kind() == ErrorKind::ConnectionReset => break,
            Err(error) => panic!("the server kept the connection open: {error}"),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

/// Sends a whole `GET /healthz` on a new connection and returns the status line.
fn health_status_line(server: &Server) -> String {
    let mut stream = send_part(
        server,
        "GET /healthz HTTP/1.1\r\nHost: callout\r\nConnection: close\r\n\r\n",
    );
    let (response, _) = read_until_closed(&mut stream);
    response.lines().next().unwrap_or_default().to_string()
}

#[test]
fn unfinished_headers_are_cut_off() {
    let server = start_server();

    // Nothing at all, one byte, and headers without their final blank line.
    for sent in ["", "G", "GET /healthz HTTP/1.1\r\nHost: callout\r\n"] {
        let mut stream = send_part(&server, sent);
        let (response, waited) = read_until_closed(&mut stream);

        assert!(
            waited >= DEADLINE.mul_f64(0.9),
            "{sent:?}: closed after {waited:?}, before the deadline of {DEADLINE:?}"
        );
        assert_eq!(
            response, "",
            "{sent:?}: the connection was not closed without a response"
        );
    }
    assert_eq!(health_status_line(&server), "HTTP/1.1 200 OK");
}

#[test]
fn headers_sent_in_time_are_served() {
    let server = start_server();

    // Two pieces, well within the deadline together.
    let mut stream = send_part(&server, "GET /healthz HTTP/1.1\r\nHost: call");
    std::thread::sleep(DEADLINE / 4);
    stream
        .write_all(b"out\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (response, _) = read_until_closed(&mut stream);

    assert!(
        response.starts_with("HTTP/1.1 200 OK"),
        "the request was not served: {response:?}"
    );
}

#[tokio::test]
async fn stalled_body_gets_408() {
    let server = start_server();
    let token = server.admin_token().to_string();
    let hooks_before = server.admin_api().hooks().await.len();

    let body_start = r#"{"url": "https://example.com/?id={campaign.id}", "tar"#;
    let mut stream = send_part(
        &server,
        &format!(
            "POST /api/hooks HTTP/1.1\r\nHost: callout\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 200\r\nConnection: close\r\n\r\n\
             {body_start}"
        ),
    );
    let (response, waited) = read_until_closed(&mut stream);

    assert!(
        waited >= DEADLINE.mul_f64(0.9),
        "answered after {waited:?}, before the deadline of {DEADLINE:?}"
    );
    assert!(
        response.starts_with("HTTP/1.1 408"),
        "a stalled body was not answered 408: {response:?}"
    );
    assert!(
        response.contains(r#""code":"body_timeout""#),
        "the 408 lacks its error code: {response:?}"
    );
    assert_eq!(server.admin_api().hooks().await.len(), hooks_before);
}
