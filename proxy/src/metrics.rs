//! Prometheus metrics of the edge, served on the admin listener.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Every metric the edge exports.
pub struct Metrics {
    registry: Registry,
    /// Requests by route label and status code.
    pub requests: IntCounterVec,
    /// Time from sending the request upstream to the end of the reply.
    pub upstream_seconds: HistogramVec,
    /// Completed TLS handshakes on the TCP listeners.
    pub tls_handshakes: IntCounter,
    /// SOAP redirect replies whose URL was rewritten.
    pub soap_rewrites: IntCounter,
    /// Directory cache hits, copied from the directory at scrape time.
    pub dir_hits: IntGauge,
    /// Directory cache misses, copied from the directory at scrape time.
    pub dir_misses: IntGauge,
    /// HTTP/3 requests.
    pub h3_requests: IntCounter,
    /// Mail connections accepted, by protocol.
    pub mail_sessions: IntCounterVec,
    /// Mail logins by protocol and result (ok, failed, refused, unavailable).
    pub mail_logins: IntCounterVec,
    /// Mail login attempts held back by the failed-login throttle.
    pub mail_login_delays: IntCounter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Metric registration failed (only on duplicate names, a programming error).
#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

impl Metrics {
    /// Creates and registers the metrics.
    pub fn new() -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("kc_proxy_requests_total", "Requests by route and status"),
            &["route", "status"],
        )?;
        let upstream_seconds = HistogramVec::new(
            HistogramOpts::new(
                "kc_proxy_upstream_seconds",
                "Upstream latency from request to end of reply",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
            ]),
            &["route"],
        )?;
        let tls_handshakes = IntCounter::new("kc_proxy_tls_handshakes_total", "TLS handshakes")?;
        let soap_rewrites = IntCounter::new(
            "kc_proxy_soap_redirect_rewrites_total",
            "SOAP redirect URLs rewritten to the public /zN URL",
        )?;
        let dir_hits = IntGauge::new("kc_proxy_directory_cache_hits", "Directory cache hits")?;
        let dir_misses =
            IntGauge::new("kc_proxy_directory_cache_misses", "Directory cache misses")?;
        let h3_requests = IntCounter::new("kc_proxy_h3_requests_total", "HTTP/3 requests")?;
        let mail_sessions = IntCounterVec::new(
            Opts::new(
                "kc_proxy_mail_sessions_total",
                "IMAP/POP3 connections accepted",
            ),
            &["protocol"],
        )?;
        let mail_logins = IntCounterVec::new(
            Opts::new(
                "kc_proxy_mail_logins_total",
                "IMAP/POP3 logins by result (ok, failed, refused, unavailable)",
            ),
            &["protocol", "result"],
        )?;
        let mail_login_delays = IntCounter::new(
            "kc_proxy_mail_login_delays_total",
            "IMAP/POP3 login attempts delayed after earlier failures",
        )?;
        registry.register(Box::new(mail_sessions.clone()))?;
        registry.register(Box::new(mail_logins.clone()))?;
        registry.register(Box::new(mail_login_delays.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(upstream_seconds.clone()))?;
        registry.register(Box::new(tls_handshakes.clone()))?;
        registry.register(Box::new(soap_rewrites.clone()))?;
        registry.register(Box::new(dir_hits.clone()))?;
        registry.register(Box::new(dir_misses.clone()))?;
        registry.register(Box::new(h3_requests.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            upstream_seconds,
            tls_handshakes,
            soap_rewrites,
            dir_hits,
            dir_misses,
            h3_requests,
            mail_sessions,
            mail_logins,
            mail_login_delays,
        })
    }

    /// Counts one finished request.
    pub fn request(&self, route: &str, status: u16) {
        self.requests
            .with_label_values(&[route, status.to_string().as_str()])
            .inc();
    }

    /// Renders the text exposition format.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metrics.
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!("metrics encoding failed: {e}");
        }
        out
    }
}
