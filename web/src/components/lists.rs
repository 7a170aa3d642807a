//! Calling lists and campaigns: import a CSV file with upload progress, add rows to a list,
//! create campaigns (optionally as copies) and delete either. Each change fires the hooks of
//! its target and event.

use leptos::html::Input;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{encode, Api, CallingList, Campaign};
use crate::format::time;
use crate::upload::post_csv;

/// Renders the calling lists and the campaigns.
#[component]
pub fn ListsView(
    /// The API client of the signed-in agent.
    api: Api,
) -> impl IntoView {
    view! {
        <CallingLists api=api.clone() />
        <Campaigns api=api />
    }
}

/// Upload progress, in bytes sent and bytes in all.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Progress {
    sent: f64,
    total: f64,
}

/// Returns the file chosen in `input`, or a sentence asking for one.
fn chosen_file(input: &NodeRef<Input>) -> Result<web_sys::File, String> {
    input
        .get_untracked()
        .and_then(|element| element.files())
        .and_then(|files| files.get(0))
        .ok_or_else(|| "Choose a CSV file first.".to_string())
}

#[component]
fn CallingLists(api: Api) -> impl IntoView {
    let api = StoredValue::new(api);
    let lists = RwSignal::new(None::<Vec<CallingList>>);
    let failure = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let progress = RwSignal::new(None::<Progress>);
    let uploading = RwSignal::new(false);
    let file_input = NodeRef::<Input>::new();

    let load = move || {
        let api = api.get_value();
        spawn_local(async move {
            match api.calling_lists().await {
                Ok(list) => lists.set(Some(list)),
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };
    load();

    // Sends `file` to `path` with progress, then reports the rows taken or the rejected line.
    let upload = move |path: String, file: web_sys::File, describe: fn(&CallingList) -> String| {
        uploading.set(true);
        failure.set(None);
        notice.set(None);
        progress.set(Some(Progress {
            sent: 0.0,
            total: file.size(),
        }));
        let api = api.get_value();
        spawn_local(async move {
            let result = post_csv::<CallingList>(&api, &path, &file, move |sent, total| {
                progress.set(Some(Progress { sent, total }));
            })
            .await;
            uploading.set(false);
            match result {
                Ok(list) => {
                    progress.update(|shown| {
                        if let Some(shown) = shown {
                            shown.sent = shown.total;
                        }
                    });
                    notice.set(Some(describe(&list)));
                    load();
                }
                Err(error) => {
                    progress.set(None);
                    failure.set(Some(error.to_string()));
                }
            }
        });
    };
    let import = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let list_name = name.get_untracked().trim().to_string();
        if list_name.is_empty() {
            failure.set(Some("Enter a name for the calling list.".to_string()));
            return;
        }
        match chosen_file(&file_input) {
            Ok(file) => upload(
                format!("/api/calling-lists?name={}", encode(&list_name)),
                file,
                |list| {
                    format!(
                        "Imported {} row(s) into calling list {} ({}), with the columns {}.",
                        list.added.unwrap_or(list.contacts),
                        list.id,
                        list.name,
                        list.columns.join(", ")
                    )
                },
            ),
            Err(sentence) => failure.set(Some(sentence)),
        }
    };
    let delete = move |list: CallingList| {
        let question = format!(
            "Delete calling list {} ({}) and its {} contact(s)? This cannot be undone.",
            list.id, list.name, list.contacts
        );
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return;
        }
        let api = api.get_value();
        spawn_local(async move {
            match api.delete_calling_list(list.id).await {
                Ok(()) => {
                    notice.set(Some(format!("Deleted calling list {}.", list.id)));
                    load();
                }
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };

    let row = move |list: CallingList| {
        let id = list.id;
        let add_input = NodeRef::<Input>::new();
        let add_id = format!("add-file-{id}");
        let for_delete = list.clone();
        let add = move |_| match chosen_file(&add_input) {
            Ok(file) => upload(format!("/api/calling-lists/{id}/contacts"), file, |list| {
                format!(
                    "Added {} row(s) to calling list {}; it has {} contact(s) now.",
                    list.added.unwrap_or_default(),
                    list.id,
                    list.contacts
                )
            }),
            Err(sentence) => failure.set(Some(sentence)),
        };
        view! {
            <tr id=format!("list-{id}") class="list-row">
                <td data-label="Id">{id}</td>
                <td class="name" data-label="Name">{list.name.clone()}</td>
                <td class="columns" data-label="Columns">{list.columns.join(", ")}</td>
                <td class="contacts" data-label="Contacts">{list.contacts}</td>
                <td data-label="Imported">{time(&list.created_at)}</td>
                <td class="actions">
                    <label for=add_id.clone()>"Rows to add (CSV)"</label>
                    <input id=add_id class="add-file" type="file" accept=".csv,text/csv" node_ref=add_input />
                    <button class="add-rows" type="button" disabled=move || uploading.get() on:click=add>"Add rows"</button>
                    <button class="delete danger" type="button" on:click=move |_| delete(for_delete.clone())>"Delete"</button>
                </td>
            </tr>
        }
    };
    let body = move || {
        match lists.get() {
        None => view! { <p>"Loading calling lists…"</p> }.into_any(),
        Some(all) if all.is_empty() => view! { <p id="lists-empty">"No calling lists yet."</p> }.into_any(),
        Some(all) => view! {
            <table id="calling-lists" class="cards">
                <thead>
                    <tr>
                        <th>"Id"</th><th>"Name"</th><th>"Columns"</th><th>"Contacts"</th><th>"Imported"</th>
                        <th><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>{all.into_iter().map(row).collect_view()}</tbody>
            </table>
        }
        .into_any(),
    }
    };
    let percent = move || {
        progress.get().map(|shown| {
            if shown.total > 0.0 {
                shown.sent / shown.total * 100.0
            } else {
                100.0
            }
        })
    };

    view! {
        <section class="calling-lists">
            <h2>"Calling lists"</h2>
            <form id="import-form" class="inline-form" on:submit=import>
                <div class="field">
                    <label for="import-name">"Name of the new list"</label>
                    <input
                        id="import-name"
                        type="text"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for="import-file">"CSV file: a header row, then one contact a row"</label>
                    <input id="import-file" type="file" accept=".csv,text/csv" node_ref=file_input />
                </div>
                <button id="import-submit" type="submit" disabled=move || uploading.get()>
                    {move || if uploading.get() { "Uploading…" } else { "Import" }}
                </button>
            </form>
            {move || percent().map(|value| view! {
                <div class="progress">
                    <label for="upload-progress">"Upload"</label>
                    <progress id="upload-progress" max="100" value=format!("{value:.0}")></progress>
                    <span id="upload-percent">{format!("{value:.0} %")}</span>
                </div>
            })}
            <Show when=move || notice.get().is_some()>
                <p id="lists-notice" class="notice" role="status">{move || notice.get().unwrap_or_default()}</p>
            </Show>
            <Show when=move || failure.get().is_some()>
                <p id="lists-failure" class="failure" role="alert">{move || failure.get().unwrap_or_default()}</p>
            </Show>
            {body}
        </section>
    }
}

#[component]
fn Campaigns(api: Api) -> impl IntoView {
    let api = StoredValue::new(api);
    let campaigns = RwSignal::new(None::<Vec<Campaign>>);
    let failure = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let copy_of = RwSignal::new(None::<i64>);

    let load = move || {
        let api = api.get_value();
        spawn_local(async move {
            match api.campaigns().await {
                Ok(list) => campaigns.set(Some(list)),
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };
    load();

    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let campaign_name = name.get_untracked().trim().to_string();
        if campaign_name.is_empty() {
            failure.set(Some("Enter a name for the campaign.".to_string()));
            return;
        }
        let source = copy_of.get_untracked();
        let api = api.get_value();
        failure.set(None);
        spawn_local(async move {
            match api.create_campaign(&campaign_name, source).await {
                Ok(campaign) => {
                    let copy = campaign
                        .copy_of
                        .map(|id| format!(", a copy of campaign {id}"))
                        .unwrap_or_default();
                    notice.set(Some(format!(
                        "Created campaign {} ({}){copy}.",
                        campaign.id, campaign.name
                    )));
                    name.set(String::new());
                    load();
                }
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };
    let delete = move |campaign: Campaign| {
        let question = format!(
            "Delete campaign {} ({})? This cannot be undone.",
            campaign.id, campaign.name
        );
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return;
        }
        let api = api.get_value();
        spawn_local(async move {
            match api.delete_campaign(campaign.id).await {
                Ok(()) => {
                    notice.set(Some(format!("Deleted campaign {}.", campaign.id)));
                    if copy_of.get_untracked() == Some(campaign.id) {
                        copy_of.set(None);
                    }
                    load();
                }
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };

    let copy_options = move || {
        campaigns
            .get()
            .unwrap_or_default()
            .into_iter()
            .map(|campaign| {
                let id = campaign.id;
                view! {
                    <option value=id.to_string() selected=move || copy_of.get() == Some(id)>
                        {format!("{id}: {}", campaign.name)}
                    </option>
                }
            })
            .collect_view()
    };
    let row = move |campaign: Campaign| {
        let for_delete = campaign.clone();
        view! {
            <tr id=format!("campaign-{}", campaign.id) class="campaign-row">
                <td data-label="Id">{campaign.id}</td>
                <td class="name" data-label="Name">{campaign.name.clone()}</td>
                <td class="copy-of" data-label="Copy of">
                    {campaign.copy_of.map_or_else(|| "not a copy".to_string(), |id| format!("campaign {id}"))}
                </td>
                <td data-label="Created">{time(&campaign.created_at)}</td>
                <td class="actions">
                    <button class="delete danger" type="button" on:click=move |_| delete(for_delete.clone())>"Delete"</button>
                </td>
            </tr>
        }
    };
    let body = move || match campaigns.get() {
        None => view! { <p>"Loading campaigns…"</p> }.into_any(),
        Some(all) if all.is_empty() => {
            view! { <p id="campaigns-empty">"No campaigns yet."</p> }.into_any()
        }
        Some(all) => view! {
            <table id="campaigns" class="cards">
                <thead>
                    <tr>
                        <th>"Id"</th><th>"Name"</th><th>"Copy of"</th><th>"Created"</th>
                        <th><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>{all.into_iter().map(row).collect_view()}</tbody>
            </table>
        }
        .into_any(),
    };

    view! {
        <section class="campaigns">
            <h2>"Campaigns"</h2>
            <form id="campaign-form" class="inline-form" on:submit=create>
                <div class="field">
                    <label for="campaign-name">"Name of the new campaign"</label>
                    <input
                        id="campaign-name"
                        type="text"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for="campaign-copy-of">"Copy of"</label>
                    <select id="campaign-copy-of" on:change=move |ev| copy_of.set(event_target_value(&ev).parse().ok())>
                        <option value="" selected=move || copy_of.get().is_none()>"Not a copy"</option>
                        {copy_options}
                    </select>
                </div>
                <button id="campaign-create" type="submit">"Create"</button>
            </form>
            <Show when=move || notice.get().is_some()>
                <p id="campaigns-notice" class="notice" role="status">{move || notice.get().unwrap_or_default()}</p>
            </Show>
            <Show when=move || failure.get().is_some()>
                <p id="campaigns-failure" class="failure" role="alert">{move || failure.get().unwrap_or_default()}</p>
            </Show>
            {body}
        </section>
    }
}
