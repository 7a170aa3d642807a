//! `/api/calling-lists`: contact lists imported from CSV files. Importing, adding rows and
//! deleting fire `callinglist` hooks.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use callout_template::{Event, Target};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::api::{check_length, AppState, Id, QueryParams, UploadBody};
use crate::auth::Agent;
use crate::contacts_csv::{self, ContactFile};
use crate::error::{ApiError, ApiResult};
use crate::outbox::{enqueue, Change};
use crate::time::{now_ms, rfc3339};

/// Contacts written by one INSERT statement, below SQLite's limit on bound parameters.
const INSERT_CHUNK: usize = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/calling-lists", get(list).post(import))
        .route("/calling-lists/{id}", get(read).delete(remove))
        .route("/calling-lists/{id}/contacts", post(add_contacts))
}

#[derive(sqlx::FromRow)]
struct ListRow {
    id: i64,
    name: String,
    columns: String,
    created_at: i64,
    contacts: i64,
}

#[derive(Serialize)]
struct ListView {
    id: i64,
    name: String,
    columns: Vec<String>,
    contacts: i64,
    created_at: String,
    /// Rows added by this request, on import and add only.
    #[serde(skip_serializing_if = "Option::is_none")]
    added: Option<usize>,
}

impl From<ListRow> for ListView {
    fn from(row: ListRow) -> ListView {
        ListView {
            id: row.id,
            name: row.name,
            columns: serde_json::from_str(&row.columns).unwrap_or_default(),
            contacts: row.contacts,
            created_at: rfc3339(row.created_at),
            added: None,
        }
    }
}

#[derive(Deserialize)]
struct ImportParams {
    name: Option<String>,
}

const SELECT: &str = "SELECT id, name, columns, created_at, \
    (SELECT COUNT(*) FROM contacts WHERE calling_list_id = calling_lists.id) AS contacts \
    FROM calling_lists";

fn parse_file<'a>(state: &AppState, body: &'a [u8]) -> ApiResult<ContactFile<'a>> {
    contacts_csv::read(body, state.limits.max_rows_per_import).map_err(|error| {
        ApiError::CsvInvalid {
            line: error.line,
            detail: error.detail,
        }
    })
}

async fn fetch(connection: &mut AnyConnection, agent: &Agent, id: i64) -> ApiResult<ListRow> {
    sqlx::query_as::<_, ListRow>(&format!("{SELECT} WHERE id = $1 AND client_id = $2"))
        .bind(id)
        .bind(agent.client_id)
        .fetch_optional(connection)
        .await?
        .ok_or(ApiError::NotFound("calling list"))
}

/// Inserts the contacts of `file` into the list `list_id`, each keyed by the file's columns.
/// A column of the file that the list lacks is kept in the contact all the same.
async fn insert_contacts(
    connection: &mut AnyConnection,
    list_id: i64,
    file: &ContactFile<'_>,
) -> Result<(), sqlx::Error> {
    let mut contacts = file.contacts().peekable();
    while contacts.peek().is_some() {
        let chunk: Vec<String> = contacts
            .by_ref()
            .take(INSERT_CHUNK)
            .map(|record| contact_json(&file.columns, &record))
            .collect();
        // One statement per chunk, with `$n` placeholders, which both databases take.
        let mut sql = String::from("INSERT INTO contacts (calling_list_id, fields) VALUES ");
        for index in 0..chunk.len() {
            if index > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${})", 2 * index + 1, 2 * index + 2));
        }
        let mut insert = sqlx::query(&sql);
        for fields in chunk {
            insert = insert.bind(list_id).bind(fields);
        }
        insert.execute(&mut *connection).await?;
    }
    Ok(())
}

/// Returns a contact as the JSON object of its fields by column name, as it is stored.
fn contact_json(columns: &[String], record: &csv::StringRecord) -> String {
    let fields: serde_json::Map<String, serde_json::Value> = columns
        .iter()
        .zip(record)
        .map(|(column, value)| (column.clone(), serde_json::Value::String(value.to_string())))
        .collect();
    serde_json::Value::Object(fields).to_string()
}

fn list_change(agent: &Agent, event: Event, id: i64) -> Change<'_> {
    Change {
        agent,
        target: Target::CallingList,
        event,
        object_id: id,
        object_values: vec![("calling_list.id", id.to_string())],
    }
}

async fn list(State(state): State<AppState>, agent: Agent) -> ApiResult<Json<Vec<ListView>>> {
    let rows = sqlx::query_as::<_, ListRow>(&format!("{SELECT} WHERE client_id = $1 ORDER BY id"))
        .bind(agent.client_id)
        .fetch_all(&state.pool)
        .await?;
    Ok(Json(rows.into_iter().map(ListView::from).collect()))
}

async fn read(
    State(state): State<AppState>,
    agent: Agent,
    Id(id): Id,
) -> ApiResult<Json<ListView>> {
    let mut connection = state.pool.acquire().await?;
    Ok(Json(fetch(&mut connection, &agent, id).await?.into()))
}

async fn import(
    State(state): State<AppState>,
    agent: Agent,
    QueryParams(params): QueryParams<ImportParams>,
    UploadBody(body): UploadBody,
) -> ApiResult<(StatusCode, Json<ListView>)> {
    let name = params
        .name
        .map(|name| name.trim().to_string())
        .unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::BadRequest(
            "missing list name: add `?name=` with the calling list's name".to_string(),
        ));
    }
    check_length("list name", &name).map_err(ApiError::BadRequest)?;
    let file = parse_file(&state, &body)?;

    let mut transaction = crate::db::begin_write(&state.pool).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO calling_lists (client_id, name, columns, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(agent.client_id)
    .bind(&name)
    .bind(serde_json::to_string(&file.columns).unwrap_or_default())
    .bind(agent.id)
    .bind(now_ms())
    .fetch_one(&mut *transaction)
    .await?;
    insert_contacts(&mut transaction, id, &file).await?;
    let fired = enqueue(
        &mut transaction,
        &list_change(&agent, Event::Import, id),
        state.catalogue.agent_columns(),
    )
    .await?;
    let row = fetch(&mut transaction, &agent, id).await?;
    transaction.commit().await?;
    if fired > 0 {
        state.wake.notify_one();
    }

    tracing::info!(
        calling_list_id = id,
        agent_id = agent.id,
        contacts = file.count,
        fired,
        "calling list imported"
    );
    let mut view = ListView::from(row);
    view.added = Some(file.count);
    Ok((StatusCode::CREATED, Json(view)))
}

async fn add_contacts(
    State(state): State<AppState>,
    agent: Agent,
    Id(id): Id,
    UploadBody(body): UploadBody,
) -> ApiResult<Json<ListView>> {
    // The list is looked up before the file is read, so another client's id gets 404
    // whatever the body, and again under the write lock, in case it was deleted meanwhile.
    let list = fetch(&mut *state.pool.acquire().await?, &agent, id).await?;
    let file = parse_file(&state, &body)?;
    let mut expected: Vec<String> = serde_json::from_str(&list.columns).unwrap_or_default();
    let mut uploaded = file.columns.clone();
    expected.sort();
    uploaded.sort();
    if expected != uploaded {
        return Err(ApiError::CsvInvalid {
            line: 1,
            detail: format!(
                "the header row has the columns {}, but the list has {}: use the list's columns",
                file.columns.join(", "),
                expected.join(", ")
            ),
        });
    }
    let mut transaction = crate::db::begin_write(&state.pool).await?;
    fetch(&mut transaction, &agent, id).await?;
    insert_contacts(&mut transaction, id, &file).await?;
    let fired = enqueue(
        &mut transaction,
        &list_change(&agent, Event::Add, id),
        state.catalogue.agent_columns(),
    )
    .await?;
    let row = fetch(&mut transaction, &agent, id).await?;
    transaction.commit().await?;
    if fired > 0 {
        state.wake.notify_one();
    }

    tracing::info!(
        calling_list_id = id,
        agent_id = agent.id,
        contacts = file.count,
        fired,
        "contacts added"
    );
    let mut view = ListView::from(row);
    view.added = Some(file.count);
    Ok(Json(view))
}

async fn remove(State(state): State<AppState>, agent: Agent, Id(id): Id) -> ApiResult<StatusCode> {
    let mut transaction = crate::db::begin_write(&state.pool).await?;
    fetch(&mut transaction, &agent, id).await?;
    sqlx::query("DELETE FROM contacts WHERE calling_list_id = $1")
        .bind(id)
        .execute(&mut *transaction)
        .await?;
    sqlx::query("DELETE FROM calling_lists WHERE id = $1 AND client_id = $2")
        .bind(id)
        .bind(agent.client_id)
        .execute(&mut *transaction)
        .await?;
    let fired = enqueue(
        &mut transaction,
        &list_change(&agent, Event::Delete, id),
        state.catalogue.agent_columns(),
    )
    .await?;
    transaction.commit().await?;
    if fired > 0 {
        state.wake.notify_one();
    }
    tracing::info!(
        calling_list_id = id,
        agent_id = agent.id,
        fired,
        "calling list deleted"
    );
    Ok(StatusCode::NO_CONTENT)
}
