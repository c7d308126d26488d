//! Wiring: the pingora server with the proxy service on every HTTPS and
//! HTTP listener, the admin service, HTTP/3, the IMAP/POP3 listeners, and
//! the SIGHUP handler.

use std::sync::Arc;

use async_trait::async_trait;
use kc_configs::service::Signals;
use pingora_core::apps::http_app::HttpServer;
use pingora_core::connectors::ConnectorOptions;
use pingora_core::listeners::tls::TlsSettings;
use pingora_core::listeners::{TlsAccept, TlsAcceptCallbacks};
use pingora_core::protocols::tls::TlsRef;
use pingora_core::server::configuration::ServerConf;
use pingora_core::server::{Server, ShutdownWatch};
use pingora_core::services::background::{background_service, BackgroundService};
use pingora_core::services::listening::Service;
use pingora_proxy::ProxyServiceBuilder;

use crate::admin::Admin;
use crate::edge::Edge;
use crate::mail::listener::{MailListener, MailService};
use crate::mail::session::MailContext;
use crate::mail::throttle::Throttle;
use crate::mail::{Protocol, UpstreamTls};
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::state::Shared;
use crate::tls::SniResolver;

/// Start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// TLS material could not be loaded.
    #[error("TLS: {0}")]
    Tls(#[from] kc_certs::tls::TlsError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// A pingora setting was refused.
    #[error("{0}")]
    Pingora(String),
}

/// Counts completed TLS handshakes.
struct Handshakes(Arc<Shared>);

#[async_trait]
impl TlsAccept for Handshakes {
    async fn handshake_complete_callback(
        &self,
        _ssl: &TlsRef,
    ) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        self.0.metrics.tls_handshakes.inc();
        None
    }
}

/// Re-reads certificates, reopens the access log and drops directory
/// caches on SIGHUP (from the daemon skeleton's [`Signals`]).
struct Reloader {
    shared: Arc<Shared>,
    sni: Option<Arc<SniResolver>>,
    signals: Signals,
    on_hup: Option<Box<dyn Fn() + Send + Sync>>,
}

#[async_trait]
impl BackgroundService for Reloader {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut hup = self.signals.subscribe_hup();
        loop {
            tokio::select! {
                r = hup.recv() => {
                    if matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        return;
                    }
                }
                _ = shutdown.changed() => return,
            }
            tracing::info!("SIGHUP: reloading certificates and reopening the access log");
            if let Some(sni) = &self.sni {
                for e in sni.reload() {
                    tracing::error!("certificate reload failed, keeping the old one: {e}");
                }
            }
            if let Some(log) = &self.shared.access_log {
                if let Err(e) = log.reopen() {
                    tracing::error!("cannot reopen the access log: {e}");
                }
            }
            if let Some(f) = &self.on_hup {
                f();
            }
        }
    }
}

/// Builds the pingora server. On every SIGHUP of `signals`, `on_hup` runs
/// after the built-in reloads (used to re-read proxy.cfg's log settings and
/// drop directory caches).
pub fn build(
    settings: &Settings,
    shared: Arc<Shared>,
    signals: Signals,
    on_hup: Option<Box<dyn Fn() + Send + Sync>>,
) -> Result<Server, AppError> {
    let conf = ServerConf {
        threads: if settings.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            settings.threads
        },
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(settings.shutdown_grace.as_secs()),
        upstream_keepalive_pool_size: settings.upstream_keepalive,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();

    let mut client = ConnectorOptions::new(settings.upstream_keepalive);
    client.keepalive_pool_size = settings
        .upstream_keepalive
        .saturating_mul(server.configuration.threads.max(1));
    client.ca_file = settings
        .upstream_ca_file
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());
    client.cert_key_file = settings.upstream_identity.as_ref().map(|(c, k)| {
        (
            c.to_string_lossy().into_owned(),
            k.to_string_lossy().into_owned(),
        )
    });
    let mut proxy = ProxyServiceBuilder::new(
        &server.configuration,
        Edge {
            shared: shared.clone(),
        },
    )
    .name("kc-proxy")
    .client_options(client)
    .build();

    let mail_any = [
        &settings.imap,
        &settings.imaps,
        &settings.pop3,
        &settings.pop3s,
    ]
    .iter()
    .any(|l| !l.is_empty());
    let sni = if settings.https.is_empty() && settings.h3.is_empty() && !mail_any {
        None
    } else {
        Some(Arc::new(settings.certs.load()?))
    };
    if let Some(sni) = &sni {
        for (addr, auth) in &settings.https {
            let callbacks: TlsAcceptCallbacks = Box::new(Handshakes(shared.clone()));
            let mut tls = TlsSettings::with_callbacks(callbacks)
                .map_err(|e| AppError::Pingora(e.to_string()))?;
            tls.set_cert_resolver(sni.clone());
            if let Some(v) = settings.certs.verifier(*auth)? {
                tls.set_client_cert_verifier(v);
            }
            tls.enable_h2();
            proxy.add_tls_with_settings(&addr.to_string(), None, tls);
        }
    }
    for addr in &settings.http {
        proxy.add_tcp(&addr.to_string());
    }
    server.add_service(proxy);

    if !settings.admin.is_empty() {
        let mut admin = Service::new(
            "kc-proxy admin".to_string(),
            HttpServer::new_app(Admin {
                shared: shared.clone(),
            }),
        );
        for addr in &settings.admin {
            admin.add_tcp(&addr.to_string());
        }
        server.add_service(admin);
    }

    // HTTP/3 forwards with its own client; HTTPS nodes need the internal CA.
    let upstream_tls = match &settings.upstream_ca_file {
        Some(ca) => Some(
            kc_certs::tls::ClientTls {
                ca_file: Some(ca.clone()),
                client_cert: settings.upstream_identity.as_ref().map(|(c, _)| c.clone()),
                client_key: settings.upstream_identity.as_ref().map(|(_, k)| k.clone()),
                ..Default::default()
            }
            .build()?,
        ),
        None => None,
    };
    if let Some(sni) = &sni {
        for (addr, auth) in &settings.h3 {
            let tls = settings
                .certs
                .server_config(*auth, sni.clone(), vec![b"h3".to_vec()])?;
            server.add_service(background_service(
                "kc-proxy h3",
                crate::h3::H3Service::new(*addr, tls, shared.clone())
                    .with_upstream_tls(upstream_tls.clone()),
            ));
        }
    }

    if let Some(sni) = sni.as_ref().filter(|_| mail_any) {
        let mut listeners = Vec::new();
        let groups = [
            (&settings.imap, Protocol::Imap, false),
            (&settings.imaps, Protocol::Imap, true),
            (&settings.pop3, Protocol::Pop3, false),
            (&settings.pop3s, Protocol::Pop3, true),
        ];
        for (list, protocol, implicit) in groups {
            for (addr, auth) in list {
                let tls = settings.certs.server_config(
                    *auth,
                    sni.clone(),
                    vec![protocol.alpn().to_vec()],
                )?;
                let l = MailListener::bind(*addr, protocol, implicit, Some(Arc::new(tls)))
                    .map_err(|source| AppError::Bind {
                        addr: *addr,
                        source,
                    })?;
                listeners.push(l);
            }
        }
        let ctx = Arc::new(MailContext {
            shared: shared.clone(),
            cfg: settings.mail.clone(),
            throttle: parking_lot::Mutex::new(Throttle::new(settings.mail.throttle)),
            upstream_tls: match settings.mail.upstream_tls {
                UpstreamTls::Plain => None,
                _ => upstream_tls.clone(),
            },
            preauth: crate::mail::preauth::PreauthLimiter::new(settings.mail.max_preauth_per_ip),
        });
        let mut mail = background_service("kc-proxy mail", MailService::new(listeners, ctx));
        mail.threads = Some(server.configuration.threads.max(1));
        server.add_service(mail);
    }

    server.add_service(background_service(
        "kc-proxy reload",
        Reloader {
            shared,
            sni,
            signals,
            on_hup,
        },
    ));
    Ok(server)
}

/// Creates the metrics or fails start-up.
pub fn metrics() -> Result<Metrics, AppError> {
    Metrics::new().map_err(|e| AppError::Pingora(e.to_string()))
}
