//! Process metrics in Prometheus text format (prometheus-client).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;

type Labels = [(&'static str, &'static str); 1];

fn latency_histogram() -> Histogram {
    // 50 µs … ~1.6 s
    Histogram::new(exponential_buckets(0.00005, 2.0, 16))
}

/// Every metric promoterd exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    clicks: Family<Labels, Counter>,
    orders: Family<Labels, Counter>,
    orders_rejected: Family<Labels, Counter>,
    commands: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    links_cached: Gauge,
    link_lookups: Family<Labels, Counter>,
    link_table_updates: Family<Labels, Counter>,
    scheduler_passes: Family<Labels, Counter>,
    /// Handles resolved once for the redirect's hot path (no map lookup per click).
    hot_clicks: [(&'static str, Counter); 3],
    hot_redirect_latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("promoterd");
        let clicks = Family::<Labels, Counter>::default();
        registry.register(
            "clicks",
            "Tracking-link requests by outcome: counted, filtered (bots, HEAD), dropped (buffer full)",
            clicks.clone(),
        );
        let orders = Family::<Labels, Counter>::default();
        registry.register(
            "orders_ingested",
            "Orders accepted by outcome: created, updated, unchanged, pending, duplicate",
            orders.clone(),
        );
        let orders_rejected = Family::<Labels, Counter>::default();
        registry.register(
            "orders_rejected",
            "Order deliveries rejected by reason",
            orders_rejected.clone(),
        );
        let commands = Family::<Labels, Counter>::default();
        registry.register("commands", "Commands run, by front-end", commands.clone());
        let latency = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        let links_cached = Gauge::default();
        registry.register(
            "links_cached",
            "Live tracking links held in memory",
            links_cached.clone(),
        );
        let link_lookups = Family::<Labels, Counter>::default();
        registry.register(
            "link_lookups",
            "Codes not in the link table, by outcome: found or unknown (asked the database), \
             throttled (not asked: over the lookup rate)",
            link_lookups.clone(),
        );
        let link_table_updates = Family::<Labels, Counter>::default();
        registry.register(
            "link_table_updates",
            "Updates of the in-memory link table, by kind: change (the links a change committed \
             here touched), log (the links the link log's new rows name: changes made by another \
             process), rebuild (the whole table: at start, or when the log had been pruned past \
             this daemon), unchanged (a look at the log that found nothing new)",
            link_table_updates.clone(),
        );
        let scheduler_passes = Family::<Labels, Counter>::default();
        registry.register(
            "scheduler_passes",
            "Passes of the digest and notification scheduler this daemon ran, by outcome: ok, \
             failed. One daemon runs them (the one holding the scheduler's lease), once a minute; \
             the first, at start, queues what was owed while no daemon ran",
            scheduler_passes.clone(),
        );
        let hot_clicks =
            ["counted", "filtered", "dropped"].map(|o| (o, clicks.get_or_create(&[("outcome", o)]).clone()));
        let hot_redirect_latency = latency.get_or_create(&[("route", "redirect")]).clone();
        Metrics {
            registry,
            clicks,
            orders,
            orders_rejected,
            commands,
            latency,
            links_cached,
            link_lookups,
            link_table_updates,
            scheduler_passes,
            hot_clicks,
            hot_redirect_latency,
        }
    }

    /// A shared handle.
    pub fn shared() -> Arc<Self> {
        Arc::new(Self::new())
    }

    /// Counts a tracking-link request: `counted`, `filtered` or `dropped`.
    pub fn click(&self, outcome: &'static str) {
        match self.hot_clicks.iter().find(|(o, _)| *o == outcome) {
            Some((_, c)) => {
                c.inc();
            }
            None => {
                self.clicks.get_or_create(&[("outcome", outcome)]).inc();
            }
        }
    }

    /// Counts an accepted order delivery by outcome.
    pub fn order(&self, outcome: &'static str) {
        self.orders.get_or_create(&[("outcome", outcome)]).inc();
    }

    /// Counts a rejected order delivery by reason.
    pub fn order_rejected(&self, reason: &'static str) {
        self.orders_rejected.get_or_create(&[("reason", reason)]).inc();
    }

    /// Counts a command by front-end.
    pub fn command(&self, frontend: &'static str) {
        self.commands.get_or_create(&[("frontend", frontend)]).inc();
    }

    /// Records a request's latency.
    pub fn request(&self, route: &'static str, seconds: f64) {
        if route == "redirect" {
            self.hot_redirect_latency.observe(seconds);
        } else {
            self.latency.get_or_create(&[("route", route)]).observe(seconds);
        }
    }

    /// Counts a code looked for beyond the link table: `found`, `unknown`, `throttled`.
    pub fn link_lookup(&self, outcome: &'static str) {
        self.link_lookups.get_or_create(&[("outcome", outcome)]).inc();
    }

    /// Counts an update of the link table (`change`, `log`, `rebuild`, `unchanged`).
    pub fn link_table_update(&self, kind: &'static str) {
        self.link_table_updates.get_or_create(&[("kind", kind)]).inc();
    }

    /// Counts a finished scheduler pass: `ok` or `failed`.
    pub fn scheduler_pass(&self, outcome: &'static str) {
        self.scheduler_passes.get_or_create(&[("outcome", outcome)]).inc();
    }

    /// Sets the number of cached links.
    pub fn set_links_cached(&self, n: usize) {
        self.links_cached.set(n as i64);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_labels() {
        let m = Metrics::new();
        m.click("dropped");
        m.click("dropped");
        m.order_rejected("signature");
        let text = m.render();
        assert!(text.contains("promoterd_clicks_total{outcome=\"dropped\"} 2"), "{text}");
        assert!(
            text.contains("promoterd_orders_rejected_total{reason=\"signature\"} 1"),
            "{text}"
        );
    }
}
