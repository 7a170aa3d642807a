//! CSV uploads to `POST /api/calling-lists?name=` and `POST /api/calling-lists/{id}/contacts`.
//! Each malformed file or oversized body of a table is rejected with its status, code and
//! line, and the database stays unchanged. Each shape that real exports have is stored field
//! by field. Hooks on `callinglist/import` and `callinglist/add` are configured, so a file
//! accepted by mistake would also show as a delivery.

#[macro_use]
mod common;

use axum::body::Body;
use common::{
    client_with_agent, csv_body, fixture, json_body, small_limits, Fixture, Kind, RequestBody,
};
use serde_json::{json, Value};

on_both_databases!(malformed_files_change_nothing, real_world_files_are_stored);

/// Rows one upload may hold in these tests.
const MAX_ROWS: usize = 5;

/// Bytes one upload may hold in these tests.
const MAX_BYTES: usize = 4096;

/// Why a file is rejected: a status, a code, and the line for `csv_invalid`.
#[derive(Clone, Copy, Debug)]
enum Rejection {
    /// 422 `csv_invalid` at this line, with this text in the detail.
    Csv(u64, &'static str),
    /// 413 `body_too_large`.
    TooLarge,
}

/// Returns the malformed files, each with why it is rejected.
fn malformed_files() -> Vec<(&'static str, Vec<u8>, Rejection)> {
    use Rejection::*;
    let too_many_rows = format!(
        "phone\n{}",
        (1..=MAX_ROWS + 1)
            .map(|n| format!("{n}\n"))
            .collect::<String>()
    );
    let too_many_with_blanks = format!(
        "phone\n\n{}",
        (1..=MAX_ROWS + 1)
            .map(|n| format!("{n}\n\n"))
            .collect::<String>()
    );
    let oversized = format!("phone\n{}", "1234567\n".repeat(MAX_BYTES / 8));
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend("name,phone\n".encode_utf16().flat_map(u16::to_le_bytes));
    let mut utf16_be = vec![0xFE, 0xFF];
    utf16_be.extend("name\n".encode_utf16().flat_map(u16::to_be_bytes));

    vec![
        ("empty body", b"".to_vec(), Csv(1, "empty")),
        ("only whitespace", b" \r\n\t\n  ".to_vec(), Csv(1, "empty")),
        (
            "only a byte order mark",
            b"\xEF\xBB\xBF".to_vec(),
            Csv(1, "empty"),
        ),
        (
            "byte order mark and blank lines",
            b"\xEF\xBB\xBF\r\n\r\n".to_vec(),
            Csv(1, "empty"),
        ),
        (
            "header with an empty name",
            b"name,,phone\nAda,x,1\n".to_vec(),
            Csv(1, "column 2 of the header row has no name"),
        ),
        (
            "header ending in a delimiter",
            b"name,phone,\nAda,1,\n".to_vec(),
            Csv(1, "column 3 of the header row has no name"),
        ),
        (
            "header of blank names",
            b" , \n1,2\n".to_vec(),
            Csv(1, "column 1 of the header row has no name"),
        ),
        (
            "quoted empty header name",
            b"\"\";phone\nAda;1\n".to_vec(),
            Csv(1, "column 1 of the header row has no name"),
        ),
        (
            "repeated column",
            b"phone,phone\n1,2\n".to_vec(),
            Csv(1, "`phone` appears twice"),
        ),
        (
            "repeated column after trimming",
            b"phone; phone \n1;2\n".to_vec(),
            Csv(1, "`phone` appears twice"),
        ),
        (
            "row with too few fields",
            b"name,phone\nAda,1\nBob\n".to_vec(),
            Csv(3, "1 fields but the header row has 2"),
        ),
        (
            "row with too many fields",
            b"name,phone\nAda,1,extra\n".to_vec(),
            Csv(2, "3 fields but the header row has 2"),
        ),
        (
            "short row in a CRLF file",
            b"name,phone\r\nAda,1\r\nBob\r\n".to_vec(),
            Csv(3, "1 fields"),
        ),
        (
            "comma row in a semicolon file",
            b"name;phone\nAda;1\nBob,2\n".to_vec(),
            Csv(3, "1 fields"),
        ),
        (
            "short row after a quoted newline",
            b"name,phone\n\"Ada\nLovelace\",1\nBob\n".to_vec(),
            Csv(4, "1 fields"),
        ),
        (
            "short row after a quoted CRLF",
            b"name,phone\r\n\"Ada\r\nLovelace\",1\r\nBob\r\n".to_vec(),
            Csv(4, "1 fields"),
        ),
        (
            "short row in a CR-only file",
            b"name,phone\rAda,1\rBob\r".to_vec(),
            Csv(3, "1 fields"),
        ),
        (
            "unclosed quote",
            b"name,phone\nAda,\"1\nBob,2\n".to_vec(),
            Csv(2, "never closed"),
        ),
        (
            "unclosed quote after an escaped one",
            b"name;note\nAda;\"says \"\"hi\"\"\nBob;x\n".to_vec(),
            Csv(2, "never closed"),
        ),
        (
            "Latin-1 byte in a row",
            b"name\nJos\xE9\n".to_vec(),
            Csv(2, "not valid UTF-8"),
        ),
        (
            "Latin-1 byte in the header",
            b"n\xE4me\nAda\n".to_vec(),
            Csv(1, "not valid UTF-8"),
        ),
        (
            "overlong UTF-8 encoding",
            b"name\nAda\nB\xC0\xAFb\n".to_vec(),
            Csv(3, "not valid UTF-8"),
        ),
        (
            "UTF-8 encoded surrogate",
            b"name\n\xED\xA0\x80\n".to_vec(),
            Csv(2, "not valid UTF-8"),
        ),
        (
            "truncated UTF-8 at the end",
            b"name\nAda\n\xE2\x82".to_vec(),
            Csv(3, "not valid UTF-8"),
        ),
        (
            "tab-separated file",
            b"name\tphone\nAda\t1\n".to_vec(),
            Csv(1, "separated by tabs"),
        ),
        ("UTF-16 little endian", utf16, Csv(1, "binary")),
        ("UTF-16 big endian", utf16_be, Csv(1, "binary")),
        (
            "NUL byte in a row",
            b"name\nAda\nB\x00b\n".to_vec(),
            Csv(3, "binary"),
        ),
        (
            "more rows than allowed",
            too_many_rows.into_bytes(),
            Csv(7, "more than 5 contacts"),
        ),
        (
            "more rows than allowed among blank lines",
            too_many_with_blanks.into_bytes(),
            Csv(13, "more than 5 contacts"),
        ),
        ("body over the limit", oversized.into_bytes(), TooLarge),
        (
            "body of one byte over the limit",
            vec![b'a'; MAX_BYTES + 1],
            TooLarge,
        ),
    ]
}

/// Returns the rows of the tables that an upload writes to.
async fn counts(f: &Fixture) -> [i64; 3] {
    [
        f.count("calling_lists").await,
        f.count("contacts").await,
        f.count("deliveries").await,
    ]
}

/// Creates a client with hooks on imports and additions, and one calling list to add to.
/// Returns the client's token and the list's id.
async fn client_with_list(f: &Fixture) -> (String, i64) {
    let (_, token) = client_with_agent(&f.pool, "Uploads", "uploader", true).await;
    for event in ["import", "add"] {
        let hook = json!({ "url": "http://127.0.0.1:9/list?id={calling_list.id}", "target": "callinglist", "event": event });
        f.expect(201, "POST", "/api/hooks", Some(&token), json_body(hook))
            .await;
    }
    let list = f
        .expect(
            201,
            "POST",
            "/api/calling-lists?name=Existing",
            Some(&token),
            csv_body("name,phone\nAda,1\n"),
        )
        .await;
    (token, list["id"].as_i64().unwrap())
}

async fn malformed_files_change_nothing(kind: Kind) {
    let Some(f) = fixture(kind, small_limits()).await else {
        return;
    };
    let (token, list) = client_with_list(&f).await;
    let token = Some(token.as_str());
    assert_eq!(counts(&f).await, [1, 1, 1]);

    let files = malformed_files();
    assert!(files.len() >= 25, "only {} malformed files", files.len());
    let targets = [
        ("POST", "/api/calling-lists?name=Broken".to_string()),
        ("POST", format!("/api/calling-lists/{list}/contacts")),
    ];
    for (name, bytes, rejection) in &files {
        for (method, uri) in &targets {
            let before = counts(&f).await;
            let reply = f.call(method, uri, token, csv_body(bytes.clone())).await;
            let status = reply.status.as_u16();
            let body = &reply.body;
            match rejection {
                Rejection::Csv(line, detail) => {
                    assert_eq!(status, 422, "{name} to {uri}: {body}");
                    assert_eq!(body["code"], "csv_invalid", "{name} to {uri}");
                    assert_eq!(body["line"], *line, "{name} to {uri}: {body}");
                    let text = body["detail"].as_str().unwrap();
                    assert!(
                        text.starts_with(&format!("line {line}: ")),
                        "{name} to {uri}: {text}"
                    );
                    assert!(text.contains(detail), "{name} to {uri}: {text}");
                }
                Rejection::TooLarge => {
                    assert_eq!(status, 413, "{name} to {uri}: {body}");
                    assert_eq!(body["code"], "body_too_large", "{name} to {uri}");
                    assert_eq!(body["limit"], MAX_BYTES, "{name} to {uri}");
                }
            }
            assert_eq!(
                counts(&f).await,
                before,
                "{name} to {uri} changed the database"
            );
        }
    }

    // Requests that fail before the file is read.
    let before = counts(&f).await;
    for uri in [
        "/api/calling-lists?name=Streamed".to_string(),
        format!("/api/calling-lists/{list}/contacts"),
    ] {
        // Without a Content-Length, the limit applies as the body arrives.
        let mut request = common::build_request("POST", &uri, token, RequestBody::Empty);
        *request.body_mut() = streamed_body(MAX_BYTES + 512);
        let reply = f.send(request).await;
        assert_eq!(
            reply.status.as_u16(),
            413,
            "a streamed body to {uri}: {}",
            reply.body
        );
    }
    let requests = [
        ("/api/calling-lists".to_string(), 400, "request_invalid"),
        (
            "/api/calling-lists?name=".to_string(),
            400,
            "request_invalid",
        ),
        (
            "/api/calling-lists?name=%20%09".to_string(),
            400,
            "request_invalid",
        ),
        (
            "/api/calling-lists?name=a%00b".to_string(),
            400,
            "request_invalid",
        ),
        (
            "/api/calling-lists/999999/contacts".to_string(),
            404,
            "not_found",
        ),
        (
            "/api/calling-lists/abc/contacts".to_string(),
            404,
            "not_found",
        ),
    ];
    for (uri, status, code) in requests {
        let reply = f.call("POST", &uri, token, csv_body("name\nAda\n")).await;
        assert_eq!(reply.status.as_u16(), status, "{uri}: {}", reply.body);
        assert_eq!(reply.body["code"], code, "{uri}");
    }
    assert_eq!(
        counts(&f).await,
        before,
        "rejected requests changed the database"
    );

    // The hooks were live all along: a good file still fires one.
    f.expect(
        201,
        "POST",
        "/api/calling-lists?name=Good",
        token,
        csv_body("phone\n1\n"),
    )
    .await;
    assert_eq!(
        counts(&f).await,
        [before[0] + 1, before[1] + 1, before[2] + 1]
    );
}

/// Returns a body of `length` bytes sent in chunks, whose length is not known in advance.
fn streamed_body(length: usize) -> Body {
    Body::new(Chunked { left: length })
}

/// A body of `x`s, 512 bytes a frame, without a size hint.
struct Chunked {
    left: usize,
}

impl hyper::body::Body for Chunked {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        let size = self.left.min(512);
        self.left -= size;
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(bytes::Bytes::from(
            vec![b'x'; size],
        )))))
    }
}

/// A file as real exports write it, and the columns and rows it contains.
struct Shape {
    name: &'static str,
    bytes: Vec<u8>,
    columns: &'static [&'static str],
    rows: &'static [&'static [&'static str]],
}

fn real_world_files() -> Vec<Shape> {
    vec![
        Shape {
            name: "UTF-8 with commas and LF",
            bytes: b"name,phone\nAda Lovelace,+44 20 7946 0000\nGrace Hopper,555-0100\n".to_vec(),
            columns: &["name", "phone"],
            rows: &[
                &["Ada Lovelace", "+44 20 7946 0000"],
                &["Grace Hopper", "555-0100"],
            ],
        },
        Shape {
            name: "UTF-8 with a byte order mark",
            bytes: "\u{feff}name,phone\nZoë Ortiz,1\n".as_bytes().to_vec(),
            columns: &["name", "phone"],
            rows: &[&["Zoë Ortiz", "1"]],
        },
        Shape {
            name: "semicolons, byte order mark and CRLF",
            bytes: "\u{feff}name;phone;city\r\nO'Brien;+353 1 555;Dublin\r\nÜnal;2;Köln\r\n"
                .as_bytes()
                .to_vec(),
            columns: &["name", "phone", "city"],
            rows: &[&["O'Brien", "+353 1 555", "Dublin"], &["Ünal", "2", "Köln"]],
        },
        Shape {
            name: "quoted fields with commas, quotes and newlines",
            bytes:
                b"name,address,note\n\"Hopper, Grace\",\"1 Main St\nApt 2\",\"says \"\"hi\"\"\"\n"
                    .to_vec(),
            columns: &["name", "address", "note"],
            rows: &[&["Hopper, Grace", "1 Main St\nApt 2", "says \"hi\""]],
        },
        Shape {
            name: "quoted fields with CRLF inside, in a CRLF file",
            bytes: b"name,address\r\n\"Ada\",\"Line 1\r\nLine 2\"\r\n\"Bob, Jr.\",\"\"\r\n"
                .to_vec(),
            columns: &["name", "address"],
            rows: &[&["Ada", "Line 1\r\nLine 2"], &["Bob, Jr.", ""]],
        },
        Shape {
            name: "quoted semicolons in a semicolon file",
            bytes: b"name;tags\n\"Doe; Jane\";\"a;b\"\n".to_vec(),
            columns: &["name", "tags"],
            rows: &[&["Doe; Jane", "a;b"]],
        },
        Shape {
            name: "quotes inside unquoted fields",
            bytes: b"name,height\nAda,5'10\"\nO\"Neil,6'\n".to_vec(),
            columns: &["name", "height"],
            rows: &[&["Ada", "5'10\""], &["O\"Neil", "6'"]],
        },
        Shape {
            name: "CR line ends, as old Mac exports",
            bytes: b"name,phone\rAda,1\rBob,2\r".to_vec(),
            columns: &["name", "phone"],
            rows: &[&["Ada", "1"], &["Bob", "2"]],
        },
        Shape {
            name: "no newline at the end, CRLF",
            bytes: b"phone\r\n1\r\n2".to_vec(),
            columns: &["phone"],
            rows: &[&["1"], &["2"]],
        },
        Shape {
            name: "blank lines and padded header names",
            bytes: " name , phone \n\nAda,1\n,\n\nBob,2\n\n"
                .as_bytes()
                .to_vec(),
            columns: &["name", "phone"],
            rows: &[&["Ada", "1"], &["Bob", "2"]],
        },
        Shape {
            name: "scripts beyond Latin",
            bytes: "名前,電話\n山田太郎,03-1234-5678\nМария,+7 495 000\n"
                .as_bytes()
                .to_vec(),
            columns: &["名前", "電話"],
            rows: &[&["山田太郎", "03-1234-5678"], &["Мария", "+7 495 000"]],
        },
        Shape {
            name: "as many rows as allowed",
            bytes: b"phone\n1\n2\n3\n4\n5\n".to_vec(),
            columns: &["phone"],
            rows: &[&["1"], &["2"], &["3"], &["4"], &["5"]],
        },
        Shape {
            name: "only a header",
            bytes: b"name,phone\n".to_vec(),
            columns: &["name", "phone"],
            rows: &[],
        },
    ]
}

/// Returns the fields of the contacts of list `id`, in the order they were stored.
async fn stored_contacts(f: &Fixture, id: i64) -> Vec<Value> {
    let fields: Vec<String> =
        sqlx::query_scalar("SELECT fields FROM contacts WHERE calling_list_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&f.pool)
            .await
            .unwrap();
    fields
        .iter()
        .map(|text| serde_json::from_str(text).unwrap())
        .collect()
}

fn expected_contacts(shape: &Shape) -> Vec<Value> {
    shape
        .rows
        .iter()
        .map(|row| {
            let fields: serde_json::Map<String, Value> = shape
                .columns
                .iter()
                .zip(row.iter())
                .map(|(column, value)| (column.to_string(), json!(value)))
                .collect();
            Value::Object(fields)
        })
        .collect()
}

async fn real_world_files_are_stored(kind: Kind) {
    let Some(f) = fixture(kind, small_limits()).await else {
        return;
    };
    let (token, _) = client_with_list(&f).await;
    let token = Some(token.as_str());

    for shape in real_world_files() {
        let name = shape.name;
        let before = counts(&f).await;
        let list = f
            .expect(
                201,
                "POST",
                "/api/calling-lists?name=Import",
                token,
                csv_body(shape.bytes.clone()),
            )
            .await;
        assert_eq!(list["columns"], json!(shape.columns), "{name}");
        assert_eq!(list["added"], shape.rows.len(), "{name}");
        assert_eq!(list["contacts"], shape.rows.len(), "{name}");
        let id = list["id"].as_i64().unwrap();
        assert_eq!(
            stored_contacts(&f, id).await,
            expected_contacts(&shape),
            "{name}"
        );
        let rows = shape.rows.len() as i64;
        assert_eq!(
            counts(&f).await,
            [before[0] + 1, before[1] + rows, before[2] + 1],
            "{name}: list, contacts, delivery"
        );

        // The same file added to the list doubles its contacts and fires the add hook.
        let uri = format!("/api/calling-lists/{id}/contacts");
        let added = f
            .expect(200, "POST", &uri, token, csv_body(shape.bytes.clone()))
            .await;
        assert_eq!(added["added"], shape.rows.len(), "{name}");
        assert_eq!(added["contacts"], 2 * shape.rows.len(), "{name}");
        let mut twice = expected_contacts(&shape);
        twice.extend(expected_contacts(&shape));
        assert_eq!(stored_contacts(&f, id).await, twice, "{name}");
        assert_eq!(
            counts(&f).await,
            [before[0] + 1, before[1] + 2 * rows, before[2] + 2],
            "{name}"
        );
    }
}
