//! A list of errors or warnings about one field, each with its message, its line and column,
//! and the field's text with the offending part marked.

use leptos::prelude::*;

use crate::api::Problem;

/// Lists `problems` found in `source`, the text of the field they point into. Renders nothing
/// when there are none.
#[component]
pub fn ProblemList(
    /// The `id` of the list element, for tests and labels.
    id: &'static str,
    /// `error` or `warning`, which sets the look.
    class: &'static str,
    /// The problems, in the order found.
    problems: Vec<Problem>,
    /// The text the spans are byte offsets into.
    source: String,
) -> impl IntoView {
    if problems.is_empty() {
        return ().into_any();
    }

    let items = problems
        .into_iter()
        .map(|problem| {
            let (before, marked, after) = split_at_span(&source, problem.start, problem.end);
            let empty = marked.is_empty();
            let replacement = problem.replacement.map(|text| {
                view! { <span class="replacement">" Suggested replacement: " <code>{text}</code></span> }
            });
            view! {
                <li class=class data-kind=problem.kind.clone()>
                    <span class="message">{problem.message}</span>
                    " "
                    <span class="position">
                        {format!("(line {}, column {})", problem.line, problem.column)}
                    </span>
                    {replacement}
                    <code class="excerpt">
                        {before}
                        <mark class:empty=empty>{marked}</mark>
                        {after}
                    </code>
                </li>
            }
        })
        .collect_view();
    view! { <ul id=id class="problems">{items}</ul> }.into_any()
}

/// Splits `source` into the text before the span, the span and the text after it. A span
/// that is out of range or not on character boundaries marks nothing rather than failing,
/// because server responses may describe an older text than the one shown.
fn split_at_span(source: &str, start: usize, end: usize) -> (String, String, String) {
    let parts = source
        .get(..start)
        .zip(source.get(start..end.max(start)))
        .zip(source.get(end.max(start)..));
    match parts {
        Some(((before, marked), after)) => {
            (before.to_string(), marked.to_string(), after.to_string())
        }
        None => (source.to_string(), String::new(), String::new()),
    }
}
