//! Timing spans for the benchmarks: the wall time of every closed span, by name, so that a
//! benchmark can say what share of an operation one step of it takes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Total time and count of closed spans, by name.
static SPANS: Mutex<Option<HashMap<&'static str, (Duration, u64)>>> = Mutex::new(None);

/// Times every span from creation to close (wall time, awaits included).
struct SpanTimes;

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for SpanTimes {
    fn on_new_span(
        &self,
        _: &tracing::span::Attributes<'_>,
        id: &tracing::Id,
        ctx: Context<'_, S>,
    ) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Instant::now());
        }
    }

    fn on_close(&self, id: tracing::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(started) = span.extensions().get::<Instant>().copied() else { return };
        let mut spans = SPANS.lock().unwrap();
        let entry = spans.get_or_insert_with(HashMap::new).entry(span.name()).or_default();
        entry.0 += started.elapsed();
        entry.1 += 1;
    }
}

pub fn span_total(name: &str) -> (Duration, u64) {
    SPANS.lock().unwrap().as_ref().and_then(|s| s.get(name).copied()).unwrap_or_default()
}

pub fn reset_spans() {
    *SPANS.lock().unwrap() = None;
}

/// Installs the span timer for the crate's spans (debug level and above).
pub fn install() -> anyhow::Result<()> {
    let filter =
        tracing_subscriber::filter::Targets::new().with_target("palimpsest", tracing::Level::DEBUG);
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(SpanTimes.with_filter(filter)),
    )?;
    Ok(())
}
