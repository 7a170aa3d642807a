//! One HTTP exchange of a call-out, made step by step so each step has its deadline and its
//! timing: resolve the host, vet the addresses, connect to a vetted one, TLS, send, read the
//! start of the response. Connections are not reused, so every attempt is vetted anew.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use super::guard::Guard;

/// Bytes of a response body read, after decompression. The rest is not read.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A future that resolves a host name.
pub type Lookup = Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send>>;

/// Resolves host names. The system resolver is used, except in tests.
pub trait Resolve: Send + Sync {
    /// Returns the addresses of `host` with `port`.
    fn lookup(&self, host: &str, port: u16) -> Lookup;
}

/// The operating system's resolver.
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn lookup(&self, host: &str, port: u16) -> Lookup {
        let host = host.to_string();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect())
        })
    }
}

/// A call-out to make.
#[derive(Clone, Debug)]
pub struct CallOut {
    /// `GET` or `POST`.
    pub method: Method,
    /// The rendered URL.
    pub url: String,
    /// Headers to send besides `host`, `content-length` and `authorization`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body, empty for a GET.
    pub body: Bytes,
}

/// Deadlines of one exchange.
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    /// For resolving the host and opening the connection.
    pub connect: Duration,
    /// For the whole exchange, connection included.
    pub total: Duration,
}

/// The class of an attempt's failure, which decides whether it is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The URL cannot be called: not http or https, or no host.
    InvalidUrl,
    /// The host name did not resolve.
    Dns,
    /// The host resolved to an address that call-outs may not reach.
    AddressRefused,
    /// No connection could be opened.
    Connect,
    /// The TLS handshake failed.
    Tls,
    /// A deadline passed.
    Timeout,
    /// The receiver broke the HTTP protocol or closed the connection.
    Protocol,
    /// The receiver responded with a redirect, which is not followed.
    Redirect,
    /// The receiver responded with a status other than 2xx or 3xx.
    Status,
    /// The hook was deleted or disabled before the attempt, so none was made.
    HookUnavailable,
}

impl ErrorClass {
    /// Returns the name stored in the delivery log.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::InvalidUrl => "invalid_url",
            ErrorClass::Dns => "dns",
            ErrorClass::AddressRefused => "address_refused",
            ErrorClass::Connect => "connect",
            ErrorClass::Tls => "tls",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Protocol => "protocol",
            ErrorClass::Redirect => "redirect",
            ErrorClass::Status => "status",
            ErrorClass::HookUnavailable => "hook_unavailable",
        }
    }
}

/// Milliseconds spent in each step, from the start of the exchange.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timings {
    /// Resolving the host; none for an IP address.
    pub dns_ms: Option<f64>,
    /// Until the TCP connection was open.
    pub connect_ms: Option<f64>,
    /// Until the TLS handshake was done, for https.
    pub tls_ms: Option<f64>,
    /// Until the response's status line and headers arrived.
    pub first_byte_ms: Option<f64>,
    /// The whole exchange.
    pub total_ms: f64,
}

/// The record of one exchange: what was sent and what came back.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Exchange {
    /// The URL called, with any password in it masked.
    pub url: String,
    /// The method.
    pub method: String,
    /// The address the connection was made to.
    pub address: Option<SocketAddr>,
    /// The headers sent, secrets masked.
    pub request_headers: Vec<(String, String)>,
    /// The response status. Serialized under the name the attempt log uses.
    #[serde(rename = "response_status")]
    pub status: Option<u16>,
    /// The response headers. Values that are not UTF-8 have their bytes replaced.
    pub response_headers: Vec<(String, String)>,
    /// The start of the body, up to [`BODY_LIMIT`] bytes after decompression.
    #[serde(skip)]
    pub body: Vec<u8>,
    /// Whether the body went on past what was read.
    #[serde(rename = "response_body_truncated")]
    pub body_truncated: bool,
    /// Time spent in each step.
    pub timings: Timings,
    /// The class of failure, if the attempt failed.
    pub error_class: Option<ErrorClass>,
    /// The failure, if the attempt failed.
    pub error: Option<String>,
}

impl Exchange {
    fn fail(&mut self, class: ErrorClass, message: impl Into<String>) {
        self.error_class = Some(class);
        self.error = Some(message.into());
    }

    /// Tells whether the receiver responded 2xx.
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
            && self
                .status
                .is_some_and(|status| (200..300).contains(&status))
    }

    /// Returns the value of the response header `name`, if it is there.
    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Returns the body as text and whether it is UTF-8. A body cut at the limit is cut back
    /// to the last whole character. A body that is not UTF-8 keeps its bytes, in base64, so
    /// nothing is lost.
    pub fn body_text(&self) -> (String, bool) {
        match std::str::from_utf8(&self.body) {
            Ok(text) => (text.to_string(), true),
            Err(error) if self.body_truncated && error.error_len().is_none() => (
                String::from_utf8_lossy(&self.body[..error.valid_up_to()]).into_owned(),
                true,
            ),
            Err(_) => (STANDARD.encode(&self.body), false),
        }
    }
}

/// Makes HTTP exchanges for call-outs.
#[derive(Clone)]
pub struct Client {
    guard: Guard,
    resolver: Arc<dyn Resolve>,
    deadlines: Deadlines,
    user_agent: HeaderValue,
}

impl Client {
    /// Creates a client that vets addresses with `guard` and resolves with `resolver`.
    pub fn new(guard: Guard, resolver: Arc<dyn Resolve>, deadlines: Deadlines) -> Client {
        let user_agent = HeaderValue::from_static(concat!("Callout/", env!("CARGO_PKG_VERSION")));
        Client {
            guard,
            resolver,
            deadlines,
            user_agent,
        }
    }

    /// Makes the exchange and returns its record. It never fails: a failure is recorded in it.
    pub async fn send(&self, call: &CallOut) -> Exchange {
        let started = Instant::now();
        let mut exchange = Exchange {
            method: call.method.to_string(),
            ..Exchange::default()
        };
        let outcome =
            tokio::time::timeout(self.deadlines.total, self.run(call, started, &mut exchange))
                .await;
        if outcome.is_err() {
            let seconds = self.deadlines.total.as_secs_f64();
            exchange.fail(
                ErrorClass::Timeout,
                format!("timed out: no complete response within {seconds} s"),
            );
        }
        exchange.timings.total_ms = elapsed_ms(started);
        exchange
    }

    async fn run(&self, call: &CallOut, started: Instant, exchange: &mut Exchange) {
        let url = match url::Url::parse(&call.url) {
            Ok(url) => url,
            Err(error) => {
                return exchange.fail(ErrorClass::InvalidUrl, format!("invalid URL: {error}"))
            }
        };
        exchange.url = masked(&url);
        let secure = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return exchange.fail(
                    ErrorClass::InvalidUrl,
                    format!("scheme `{other}` is not supported: use http or https"),
                )
            }
        };
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
            return exchange.fail(ErrorClass::InvalidUrl, "the URL has no host");
        };

        let connect_deadline = started + self.deadlines.connect;
        let addresses = match host {
            url::Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            url::Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            url::Host::Domain(name) => {
                let lookup = tokio::time::timeout_at(
                    connect_deadline.into(),
                    self.resolver.lookup(name, port),
                )
                .await;
                exchange.timings.dns_ms = Some(elapsed_ms(started));
                match lookup {
                    Ok(Ok(addresses)) if !addresses.is_empty() => addresses,
                    Ok(Ok(_)) => {
                        return exchange
                            .fail(ErrorClass::Dns, format!("host `{name}` has no address"))
                    }
                    Ok(Err(error)) => {
                        return exchange.fail(
                            ErrorClass::Dns,
                            format!("failed to resolve `{name}`: {error}"),
                        )
                    }
                    Err(_) => {
                        return exchange
                            .fail(ErrorClass::Timeout, format!("timed out resolving `{name}`"))
                    }
                }
            }
        };
        if let Err(refusal) = self.guard.check_all(&addresses) {
            return exchange.fail(ErrorClass::AddressRefused, refusal.to_string());
        }

        let stream = match connect(&addresses, connect_deadline).await {
            Ok((stream, address)) => {
                exchange.address = Some(address);
                stream
            }
            Err((class, message)) => return exchange.fail(class, message),
        };
        exchange.timings.connect_ms = Some(elapsed_ms(started));

        let request = match build_request(call, &url, &self.user_agent) {
            Ok(request) => request,
            Err(message) => return exchange.fail(ErrorClass::InvalidUrl, message),
        };
        exchange.request_headers = request
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), masked_header(name, value)))
            .collect();

        let result = if secure {
            let server_name = match host {
                url::Host::Domain(name) => ServerName::try_from(name.to_string()),
                url::Host::Ipv4(ip) => Ok(ServerName::IpAddress(IpAddr::V4(ip).into())),
                url::Host::Ipv6(ip) => Ok(ServerName::IpAddress(IpAddr::V6(ip).into())),
            };
            let Ok(server_name) = server_name else {
                return exchange.fail(
                    ErrorClass::InvalidUrl,
                    "the host is not a valid TLS server name",
                );
            };
            match TlsConnector::from(tls_config())
                .connect(server_name, stream)
                .await
            {
                Ok(tls) => {
                    exchange.timings.tls_ms = Some(elapsed_ms(started));
                    exchange_over(TokioIo::new(tls), request, started, exchange).await
                }
                Err(error) => {
                    return exchange.fail(ErrorClass::Tls, format!("TLS handshake failed: {error}"))
                }
            }
        } else {
            exchange_over(TokioIo::new(stream), request, started, exchange).await
        };
        if let Err((class, message)) = result {
            exchange.fail(class, message);
        }
    }
}

fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

/// Returns the URL with its password, if any, replaced by `****`.
pub fn masked(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("****"));
    }
    shown.to_string()
}

fn masked_header(name: &HeaderName, value: &HeaderValue) -> String {
    if name == hyper::header::AUTHORIZATION {
        return "****".to_string();
    }
    String::from_utf8_lossy(value.as_bytes()).into_owned()
}

/// Opens a TCP connection to the first of `addresses` that accepts before `deadline`.
async fn connect(
    addresses: &[SocketAddr],
    deadline: Instant,
) -> Result<(TcpStream, SocketAddr), (ErrorClass, String)> {
    let mut last_error = String::new();
    for address in addresses {
        match tokio::time::timeout_at(deadline.into(), TcpStream::connect(address)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok((stream, *address));
            }
            Ok(Err(error)) => last_error = format!("failed to connect to {address}: {error}"),
            Err(_) => {
                return Err((
                    ErrorClass::Timeout,
                    format!("timed out connecting to {address}"),
                ))
            }
        }
    }
    Err((ErrorClass::Connect, last_error))
}

fn build_request(
    call: &CallOut,
    url: &url::Url,
    user_agent: &HeaderValue,
) -> Result<Request<Full<Bytes>>, String> {
    let mut target = url.path().to_string();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let mut request = Request::builder()
        .method(call.method.clone())
        .uri(target)
        .header(hyper::header::HOST, host)
        .header(hyper::header::USER_AGENT, user_agent.clone())
        .header(hyper::header::ACCEPT_ENCODING, "gzip, deflate");
    if !url.username().is_empty() || url.password().is_some() {
        let user = percent_decode(url.username());
        let password = percent_decode(url.password().unwrap_or(""));
        let credentials = STANDARD.encode(format!("{user}:{password}"));
        request = request.header(hyper::header::AUTHORIZATION, format!("Basic {credentials}"));
    }
    for (name, value) in &call.headers {
        request = request.header(name, value);
    }
    if !call.body.is_empty() || call.method == Method::POST {
        request = request.header(hyper::header::CONTENT_LENGTH, call.body.len());
    }
    request
        .body(Full::new(call.body.clone()))
        .map_err(|error| format!("invalid request: {error}"))
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// Sends `request` over an open connection and reads the response into `exchange`.
async fn exchange_over<T>(
    io: TokioIo<T>,
    request: Request<Full<Bytes>>,
    started: Instant,
    exchange: &mut Exchange,
) -> Result<(), (ErrorClass, String)>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|error| {
                (
                    ErrorClass::Protocol,
                    format!("HTTP handshake failed: {error}"),
                )
            })?;
    let driver = tokio::spawn(connection);

    let response = sender.send_request(request).await;
    let response = match response {
        Ok(response) => response,
        Err(error) => {
            driver.abort();
            return Err((
                ErrorClass::Protocol,
                format!("the receiver sent no valid response: {error}"),
            ));
        }
    };
    exchange.timings.first_byte_ms = Some(elapsed_ms(started));
    let status = response.status();
    exchange.status = Some(status.as_u16());
    exchange.response_headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let encoding = exchange
        .response_header("content-encoding")
        .map(|value| value.trim().to_ascii_lowercase());

    let body_result = read_body(response.into_body(), encoding.as_deref(), exchange).await;
    driver.abort();

    if status.is_redirection() {
        let location = exchange
            .response_header("location")
            .unwrap_or("(none)")
            .to_string();
        return Err((
            ErrorClass::Redirect,
            format!("responded {status}, and redirects are not followed; Location: {location}"),
        ));
    }
    body_result?;
    if !status.is_success() {
        return Err((ErrorClass::Status, format!("responded {status}")));
    }
    Ok(())
}

/// A writer that keeps the first [`BODY_LIMIT`] bytes and then accepts nothing more.
#[derive(Default)]
struct LimitedSink {
    bytes: Vec<u8>,
}

impl std::io::Write for LimitedSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = BODY_LIMIT - self.bytes.len();
        let taken = room.min(data.len());
        self.bytes.extend_from_slice(&data[..taken]);
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The body's decoder for its `Content-Encoding`.
enum Decoder {
    Identity(LimitedSink),
    Gzip(flate2::write::GzDecoder<LimitedSink>),
    Deflate(flate2::write::ZlibDecoder<LimitedSink>),
}

impl Decoder {
    fn for_encoding(encoding: Option<&str>) -> Decoder {
        match encoding {
            Some("gzip" | "x-gzip") => {
                Decoder::Gzip(flate2::write::GzDecoder::new(LimitedSink::default()))
            }
            Some("deflate") => {
                Decoder::Deflate(flate2::write::ZlibDecoder::new(LimitedSink::default()))
            }
            _ => Decoder::Identity(LimitedSink::default()),
        }
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        use std::io::Write;
        match self {
            Decoder::Identity(sink) => sink.write_all(data),
            Decoder::Gzip(decoder) => decoder.write_all(data),
            Decoder::Deflate(decoder) => decoder.write_all(data),
        }
    }

    fn sink(&mut self) -> &mut LimitedSink {
        match self {
            Decoder::Identity(sink) => sink,
            Decoder::Gzip(decoder) => decoder.get_mut(),
            Decoder::Deflate(decoder) => decoder.get_mut(),
        }
    }

    fn is_full(&mut self) -> bool {
        self.sink().bytes.len() >= BODY_LIMIT
    }
}

/// Reads the body up to [`BODY_LIMIT`] bytes after decoding `gzip` or `deflate`, so a small
/// compressed body that inflates to gigabytes costs no more than the limit.
async fn read_body(
    mut body: hyper::body::Incoming,
    encoding: Option<&str>,
    exchange: &mut Exchange,
) -> Result<(), (ErrorClass, String)> {
    let mut decoder = Decoder::for_encoding(encoding);
    let mut failure = None;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => {
                failure = Some((
                    ErrorClass::Protocol,
                    format!("failed to read the body: {error}"),
                ));
                break;
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if let Err(error) = decoder.write_all(&data) {
            if !decoder.is_full() {
                let encoding = encoding.unwrap_or("identity");
                failure = Some((
                    ErrorClass::Protocol,
                    format!("failed to decode the {encoding} body: {error}"),
                ));
            }
        }
        if decoder.is_full() {
            exchange.body_truncated = true;
            break;
        }
    }
    exchange.body = std::mem::take(&mut decoder.sink().bytes);
    match failure {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}

/// Returns the TLS settings: the Mozilla root certificates, as `webpki-roots` ships them.
fn tls_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resolver with fixed answers, standing in for DNS.
    struct FixedResolver(Vec<(&'static str, Vec<IpAddr>)>);

    impl Resolve for FixedResolver {
        fn lookup(&self, host: &str, port: u16) -> Lookup {
            let found = self
                .0
                .iter()
                .find(|(name, _)| *name == host)
                .map(|(_, addresses)| addresses.clone());
            Box::pin(async move {
                let addresses =
                    found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host"))?;
                Ok(addresses
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect())
            })
        }
    }

    fn client() -> Client {
        let resolver = FixedResolver(vec![
            (
                "mixed.example",
                vec![
                    "93.184.216.34".parse().unwrap(),
                    "10.0.0.7".parse().unwrap(),
                ],
            ),
            ("metadata.example", vec!["169.254.169.254".parse().unwrap()]),
            (
                "mapped.example",
                vec!["::ffff:192.168.0.1".parse().unwrap()],
            ),
            ("loop6.example", vec!["::1".parse().unwrap()]),
            ("empty.example", vec![]),
        ]);
        let deadlines = Deadlines {
            connect: Duration::from_secs(1),
            total: Duration::from_secs(2),
        };
        Client::new(Guard::default(), Arc::new(resolver), deadlines)
    }

    async fn attempt(url: &str) -> Exchange {
        let call = CallOut {
            method: Method::GET,
            url: url.to_string(),
            headers: Vec::new(),
            body: Bytes::new(),
        };
        client().send(&call).await
    }

    #[tokio::test]
    async fn refused_hosts_table() {
        let cases = [
            (
                "http://mixed.example/hook",
                ErrorClass::AddressRefused,
                "10.0.0.7",
            ),
            (
                "http://metadata.example/latest/meta-data/",
                ErrorClass::AddressRefused,
                "link-local",
            ),
            (
                "https://mapped.example/",
                ErrorClass::AddressRefused,
                "private",
            ),
            (
                "http://loop6.example:8080/",
                ErrorClass::AddressRefused,
                "loopback",
            ),
            (
                "http://127.0.0.1:9/",
                ErrorClass::AddressRefused,
                "loopback",
            ),
            ("http://[::1]:9/", ErrorClass::AddressRefused, "loopback"),
            (
                "http://169.254.169.254/",
                ErrorClass::AddressRefused,
                "link-local",
            ),
            (
                "http://[::ffff:169.254.169.254]/",
                ErrorClass::AddressRefused,
                "link-local",
            ),
            (
                "http://0.0.0.0:80/",
                ErrorClass::AddressRefused,
                "unspecified",
            ),
            ("http://2130706433/", ErrorClass::AddressRefused, "loopback"),
            ("http://0x7f.1/", ErrorClass::AddressRefused, "loopback"),
            (
                "http://unknown.example/",
                ErrorClass::Dns,
                "failed to resolve",
            ),
            ("http://empty.example/", ErrorClass::Dns, "no address"),
            (
                "ftp://example.com/",
                ErrorClass::InvalidUrl,
                "not supported",
            ),
            ("not a url", ErrorClass::InvalidUrl, "invalid URL"),
        ];
        for (url, class, detail) in cases {
            let exchange = attempt(url).await;
            assert_eq!(
                exchange.error_class,
                Some(class),
                "{url}: {:?}",
                exchange.error
            );
            let error = exchange.error.unwrap_or_default();
            assert!(error.contains(detail), "{url}: {error}");
            assert_eq!(exchange.address, None, "{url} must not be dialled");
        }
    }

    #[tokio::test]
    async fn redirect_to_metadata_is_not_followed() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let mut accepted = 0;
            while let Ok(Ok((mut stream, _))) =
                tokio::time::timeout(Duration::from_millis(500), listener.accept()).await
            {
                accepted += 1;
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request).await;
                let answer = "HTTP/1.1 301 Moved Permanently\r\nLocation: http://169.254.169.254/latest/meta-data/\r\nContent-Length: 0\r\n\r\n";
                let _ = stream.write_all(answer.as_bytes()).await;
            }
            accepted
        });

        let deadlines = Deadlines {
            connect: Duration::from_secs(1),
            total: Duration::from_secs(2),
        };
        let guard = Guard::new(vec!["127.0.0.0/8".parse().unwrap()]);
        let client = Client::new(guard, Arc::new(SystemResolver), deadlines);
        let url = format!("http://127.0.0.1:{port}/hook");
        let call = CallOut {
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: Bytes::new(),
        };
        let exchange = client.send(&call).await;

        assert_eq!(exchange.status, Some(301));
        assert_eq!(exchange.error_class, Some(ErrorClass::Redirect));
        assert!(exchange
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("169.254.169.254"));
        assert_eq!(
            exchange
                .address
                .map(|address| address.ip().to_string())
                .as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(server.await.unwrap(), 1, "the receiver was called again");
    }

    #[test]
    fn passwords_are_masked() {
        let url = url::Url::parse("https://user:secret@example.com/x?a=1").unwrap();
        assert_eq!(masked(&url), "https://user:****@example.com/x?a=1");
    }
}
