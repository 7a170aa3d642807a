//! The template engine against two other RFC 6570 crates, `iri-string` and
//! `uritemplate-next`, on realistic hook templates: parsing, rendering a parsed template, and
//! both in one go. The `scaling` group renders and parses inputs of two sizes, ten times apart,
//! so the ratio of their times shows how time grows with size.

use std::collections::HashMap;
use std::hint::black_box;

use callout_template::{parse, Value};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use iri_string::spec::UriSpec;
use iri_string::template::simple_context::SimpleContext;
use iri_string::template::UriTemplateStr;

/// Hook templates as people write them. The first is the typical one: three tags, about 100
/// bytes once rendered.
const TEMPLATES: [(&str, &str); 4] = [
    (
        "typical",
        "https://hooks.example.com/callout/import?agent_id={agent.id}&list={calling_list.id}&client={client.name}",
    ),
    ("path", "https://crm.example.com/api/v2/clients/{client.id}/lists/{calling_list.id}/reorder"),
    (
        "query",
        "https://example.com/hook{?agent.id,agent.username,agent.email,calling_list.id,client.identification}",
    ),
    ("plain", "https://example.com/notify"),
];

const VALUES: [(&str, &str); 7] = [
    ("client.id", "42"),
    ("client.identification", "9e107d9d372bb6826bd81d3542a419d6"),
    ("client.name", "Müller & Söhne Call Center"),
    ("agent.id", "1207"),
    ("agent.username", "jdoe"),
    ("agent.email", "jane.doe+calls@example.com"),
    ("calling_list.id", "880123"),
];

fn callout_values() -> HashMap<String, Value> {
    VALUES
        .iter()
        .map(|(name, value)| (name.to_string(), Value::from(*value)))
        .collect()
}

fn iri_context() -> SimpleContext {
    let mut context = SimpleContext::new();
    for (name, value) in VALUES {
        context.insert(name, value);
    }
    context
}

fn uritemplate_next(template: &str) -> uritemplate::UriTemplate {
    let mut parsed = uritemplate::UriTemplate::new(template);
    for (name, value) in VALUES {
        parsed.set(name, value);
    }
    parsed
}

/// Checks that the three crates agree on every template before anything is timed.
fn check_agreement() {
    let values = callout_values();
    let context = iri_context();
    for (name, template) in TEMPLATES {
        let ours = parse(template).unwrap().render(&values).unwrap();
        let iri = UriTemplateStr::new(template)
            .unwrap()
            .expand::<UriSpec, _>(&context)
            .unwrap()
            .to_string();
        let next = uritemplate_next(template).build();
        assert_eq!(ours, iri, "iri-string renders {name} differently");
        assert_eq!(ours, next, "uritemplate-next renders {name} differently");
    }
}

fn parsing(c: &mut Criterion) {
    check_agreement();
    let mut group = c.benchmark_group("parse");
    for (name, template) in TEMPLATES {
        group.bench_with_input(BenchmarkId::new("callout", name), template, |b, t| {
            b.iter(|| parse(black_box(t)).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("iri-string", name), template, |b, t| {
            b.iter(|| UriTemplateStr::new(black_box(t)).unwrap())
        });
        group.bench_with_input(
            BenchmarkId::new("uritemplate-next", name),
            template,
            |b, t| b.iter(|| uritemplate::UriTemplate::new(black_box(t))),
        );
    }
    group.finish();
}

fn rendering(c: &mut Criterion) {
    let values = callout_values();
    let context = iri_context();
    let mut group = c.benchmark_group("render_parsed");
    for (name, template) in TEMPLATES {
        let ours = parse(template).unwrap();
        group.bench_function(BenchmarkId::new("callout", name), |b| {
            b.iter(|| ours.render(black_box(&values)).unwrap())
        });
        // iri-string keeps no parsed form: a validated template is expanded from its text.
        let iri = UriTemplateStr::new(template).unwrap();
        group.bench_function(BenchmarkId::new("iri-string", name), |b| {
            b.iter(|| {
                iri.expand::<UriSpec, _>(black_box(&context))
                    .unwrap()
                    .to_string()
            })
        });
        let next = uritemplate_next(template);
        group.bench_function(BenchmarkId::new("uritemplate-next", name), |b| {
            b.iter(|| black_box(&next).build())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("parse_and_render");
    let (name, template) = TEMPLATES[0];
    group.bench_function(BenchmarkId::new("callout", name), |b| {
        b.iter(|| parse(black_box(template)).unwrap().render(&values).unwrap())
    });
    group.bench_function(BenchmarkId::new("iri-string", name), |b| {
        b.iter(|| {
            let parsed = UriTemplateStr::new(black_box(template)).unwrap();
            parsed.expand::<UriSpec, _>(&context).unwrap().to_string()
        })
    });
    group.bench_function(BenchmarkId::new("uritemplate-next", name), |b| {
        b.iter(|| uritemplate_next(black_box(template)).build())
    });
    group.finish();
}

fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("scaling");
    group.sample_size(20);
    for size in [100_000, 1_000_000] {
        let literal = format!("https://example.com/{}", "a/".repeat(size / 2));
        group.throughput(Throughput::Bytes(literal.len() as u64));
        group.bench_with_input(BenchmarkId::new("parse_literal", size), &literal, |b, t| {
            b.iter(|| parse(black_box(t)).unwrap())
        });

        let expressions = format!("https://example.com/{}", "{agent.id}".repeat(size / 10));
        group.throughput(Throughput::Bytes(expressions.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("parse_expressions", size),
            &expressions,
            |b, t| b.iter(|| parse(black_box(t)).unwrap()),
        );

        let template = parse("https://example.com/?who={agent.name}").unwrap();
        let values: HashMap<String, Value> = HashMap::from([(
            "agent.name".to_string(),
            Value::from("Zoë & Co/?".repeat(size / 11)),
        )]);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("render_value", size), &values, |b, v| {
            b.iter(|| template.render(black_box(v)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, parsing, rendering, scaling);
criterion_main!(benches);
