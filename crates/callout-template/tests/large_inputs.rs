//! Large and hostile inputs: each is parsed, validated and rendered correctly, and the peak
//! memory in use stays within a small multiple of the input's size. How time grows with size
//! is measured by the `engine` benchmark.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use callout_template::{parse, validate_hook, Catalogue, ErrorKind, HookDraft, Value};

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Tests of this file measure memory one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `work` and returns its result and the peak of bytes allocated during it, above what
/// was in use before.
fn peak_during<T>(work: impl FnOnce() -> T) -> (T, usize) {
    let base = IN_USE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let result = work();
    (result, PEAK.load(Ordering::Relaxed) - base)
}

fn hook(url: &str) -> HookDraft<'_> {
    HookDraft {
        url,
        target: "callinglist",
        event: "import",
    }
}

fn values(pairs: &[(&str, &str)]) -> HashMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

#[test]
fn literal_of_100_000_characters() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let url = format!("https://example.com/{}", "a".repeat(100_000));
    let (rendered, peak) = peak_during(|| {
        let report = validate_hook(&hook(&url), &Catalogue::default());
        assert!(report.is_valid());
        report.template.unwrap().render(&values(&[])).unwrap()
    });
    assert_eq!(rendered, url);
    assert!(
        peak < 8 * url.len(),
        "peak {peak} bytes for {} bytes of input",
        url.len()
    );
}

#[test]
fn template_of_10_000_expressions() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let url = format!("https://example.com/{}", "{agent.id}/".repeat(10_000));
    let (rendered, peak) = peak_during(|| {
        let report = validate_hook(&hook(&url), &Catalogue::default());
        assert!(report.is_valid(), "{:?}", report.errors.first());
        report
            .template
            .unwrap()
            .render(&values(&[("agent.id", "7")]))
            .unwrap()
    });
    assert_eq!(
        rendered,
        format!("https://example.com/{}", "7/".repeat(10_000))
    );
    // Each expression is two parts (itself and the literal `/` after it) and a variable,
    // about 170 bytes, and a growing vector briefly keeps its old and new buffers.
    assert!(
        peak < 600 * 10_000,
        "peak {peak} bytes for 10,000 expressions"
    );
}

#[test]
fn unclosed_braces_50_000() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let url = format!("https://example.com/{}", "{".repeat(50_000));
    let (report, peak) = peak_during(|| validate_hook(&hook(&url), &Catalogue::default()));
    assert!(!report.is_valid());
    assert!(report
        .errors
        .iter()
        .all(|error| error.kind == ErrorKind::ExpressionUnclosed));
    assert_eq!(report.errors[0].start, 20);
    assert!(
        peak < 4 * url.len(),
        "peak {peak} bytes for {} bytes of input",
        url.len()
    );
}

#[test]
fn value_of_one_megabyte() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let value: String = "Zoë & Co/?#%+ ".repeat(1_000_000 / 15);
    let template = parse("https://example.com/?who={agent.name}").unwrap();
    let vals = values(&[("agent.name", &value)]);
    let (rendered, peak) = peak_during(|| template.render(&vals).unwrap());

    let encoded = &rendered["https://example.com/?who=".len()..];
    assert!(encoded.starts_with("Zo%C3%AB%20%26%20Co%2F%3F%23%25%2B%20Zo"));
    assert!(!encoded.contains(['&', '/', '?', '#', '=', ' ', '+']));
    // The output is at most three bytes per byte of value; growing the buffer may hold the
    // old and the new copy at once.
    assert!(
        peak < 3 * 3 * value.len(),
        "peak {peak} bytes for a value of {} bytes",
        value.len()
    );
}

#[test]
fn reports_are_capped() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let unknown = format!("https://example.com/{}", "{agent.nosuch}".repeat(10_000));
    let report = validate_hook(&hook(&unknown), &Catalogue::default());
    assert_eq!(report.errors.len(), callout_template::MAX_ERRORS);
    assert!(report
        .errors
        .iter()
        .all(|error| error.kind == ErrorKind::TagUnknown));

    let repeated = format!("https://example.com/x{}", "{?agent.id}".repeat(10_000));
    let report = validate_hook(&hook(&repeated), &Catalogue::default());
    assert!(report.is_valid());
    assert_eq!(report.warnings.len(), callout_template::MAX_ERRORS);
}
