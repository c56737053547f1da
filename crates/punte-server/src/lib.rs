//! Punte's HTTP face: the admin JSON API, the signed log, the web interface and health, on actix-web.
//!
//! [`Application::build`] binds the listener first (port 0 works, for tests), then opens the
//! node; [`Application::run_until_stopped`] serves until SIGINT/SIGTERM or [`ServerHandle`]
//! stops it, lets in-flight requests finish and closes the database cleanly.

pub mod adaptation_routes;
pub mod analysis_routes;
pub mod api;
pub mod config;
pub mod extract;
pub mod federation_routes;
pub mod log_routes;
pub mod membership_routes;
pub mod problem;
#[path = "web/mod.rs"]
pub mod webui;
pub mod witness_routes;

use std::net::{SocketAddr, TcpListener};
use std::time::Instant;

use actix_web::dev::{Server, ServerHandle, Service};
use actix_web::{App, HttpResponse, HttpServer, web};

use punte_node::federation::Federation;
use punte_node::{Node, NodeSettings};

pub use config::Config;
use extract::Limits;
use problem::ApiError;

/// Tells long-lived responses (the live feed's event streams) that the server is stopping,
/// so a graceful stop does not wait for them until its timeout.
#[derive(Debug, Clone)]
pub struct Stopping(pub tokio::sync::watch::Receiver<bool>);

impl Stopping {
    /// Resolves once the server starts stopping.
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stopping| *stopping).await;
    }
}

/// Stops a running [`Application`]: first tells long-lived responses to end, then stops the
/// HTTP server (gracefully: in-flight requests finish).
#[derive(Clone)]
pub struct Stopper {
    handle: ServerHandle,
    stopping: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl Stopper {
    pub async fn stop(&self, graceful: bool) {
        let _ = self.stopping.send(true);
        self.handle.stop(graceful).await;
    }
}

/// A node bound to its address, ready to serve.
pub struct Application {
    server: Server,
    address: SocketAddr,
    base_url: String,
    node: web::Data<Node>,
    federation: web::Data<Federation>,
    stopping: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    _lock: std::fs::File,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Node(#[from] punte_node::NodeError),
    #[error("cannot set up federation: {0}")]
    Federation(#[from] punte_node::federation::FetchError),
}

impl Application {
    /// Binds `config.server.listen` and opens the node in `config.storage.data_dir`.
    pub fn build(config: &Config) -> Result<Self, StartError> {
        let address = config.server.listen;
        let listener =
            TcpListener::bind(address).map_err(|source| StartError::Bind { address, source })?;
        Self::with_listener(config, listener)
    }

    /// Like [`Application::build`] with an already-bound listener.
    pub fn with_listener(config: &Config, listener: TcpListener) -> Result<Self, StartError> {
        let address = listener.local_addr().map_err(|source| StartError::Bind {
            address: config.server.listen,
            source,
        })?;
        let base_url = match &config.server.base_url {
            Some(url) => config::normalise_base_url(url).unwrap_or_else(|_| url.clone()),
            None => format!("http://{address}"),
        };
        let node = Node::open(NodeSettings {
            data_dir: config.storage.data_dir.clone(),
            base_url: base_url.clone(),
            disclosure_k: config.disclosure.k,
        })?;
        let lock = node.lock_for_serving()?;
        // the cheap self-check: a damaged log makes the node refuse to append (logged)
        let checked = node.check_log(false)?;
        if checked.problems.is_empty() {
            tracing::info!(
                size = checked.size,
                audited_from = checked.audited_from,
                "signed history checked"
            );
        }
        let node = web::Data::new(node);
        let mut federation_settings = config.federation.settings();
        federation_settings.membership = config.membership.settings();
        let federation = web::Data::new(Federation::new(
            node.clone().into_inner(),
            federation_settings,
        )?);
        let app_federation = federation.clone();
        let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
        let stopping = web::Data::new(Stopping(stopping_rx));
        let limits = web::Data::new(Limits {
            max_body_bytes: config.server.max_body_bytes,
            body_read_timeout: std::time::Duration::from_secs(
                config.server.body_read_timeout_secs.max(1),
            ),
        });
        let app_node = node.clone();
        let witness_policy = config.witness.policy();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(app_node.clone())
                .app_data(app_federation.clone())
                .app_data(stopping.clone())
                .app_data(limits.clone())
                .wrap_fn(|req, srv| {
                    let started = Instant::now();
                    let method = req.method().clone();
                    let path = req.path().to_owned();
                    let fut = srv.call(req);
                    async move {
                        let res = fut.await?;
                        tracing::info!(
                            %method,
                            %path,
                            status = res.status().as_u16(),
                            ms = started.elapsed().as_secs_f64() * 1000.0,
                            "request"
                        );
                        Ok(res)
                    }
                })
                .route("/healthz", web::get().to(health))
                .configure(federation_routes::configure)
                .configure(witness_routes::configure(witness_policy))
                .configure(membership_routes::configure)
                .configure(webui::configure)
                .configure(api::configure)
                .configure(log_routes::configure)
                .route("/ns/v1", web::get().to(context_document))
                .default_service(web::to(not_found))
        })
        .shutdown_timeout(config.server.shutdown_timeout_secs)
        // Signals are the caller's: `punte serve` maps both SIGINT and SIGTERM to a graceful
        // stop (actix would treat SIGINT as a forced one); tests stop through the handle.
        .disable_signals()
        .listen(listener)
        .map_err(|source| StartError::Bind { address, source })?;
        if config.server.workers > 0 {
            server = server.workers(config.server.workers);
        }
        Ok(Self {
            server: server.run(),
            address,
            base_url,
            node,
            federation,
            stopping: std::sync::Arc::new(stopping_tx),
            _lock: lock,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The node, for in-process tests and the CLI.
    pub fn node(&self) -> web::Data<Node> {
        self.node.clone()
    }

    /// A handle that stops the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Stops the server after telling the live feed's streams to end (use this rather than
    /// [`Application::handle`] when browsers may be connected).
    pub fn stopper(&self) -> Stopper {
        Stopper {
            handle: self.server.handle(),
            stopping: self.stopping.clone(),
        }
    }

    /// The federation side, for in-process tests.
    pub fn federation(&self) -> web::Data<Federation> {
        self.federation.clone()
    }

    /// Serves until stopped, with the delivery worker, replica sync and cosignature
    /// collector running, then closes the database.
    ///
    /// The workers run on a multi-threaded runtime of their own (`punte-worker` threads), not
    /// on the thread that accepts connections: a long replica catch-up no longer holds up
    /// deliveries, and none of them waits for the HTTP side.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            server,
            node,
            federation,
            _lock,
            ..
        } = self;
        let (stop_workers, stopped) = tokio::sync::watch::channel(false);
        let (runtime, workers) = WorkerRuntime::start(federation.into_inner().run(stopped))?;
        let served = server.await;
        let _ = stop_workers.send(true);
        let _ = workers.await;
        // the workers have returned; what is left (an idle connection) goes with the runtime
        drop(runtime);
        served?;
        // The workers are gone: fold the write-ahead log into the database file, then close
        // if nothing else (a test, a worker's leftover clone) still holds the node.
        if let Err(e) = node.store().checkpoint_wal() {
            tracing::warn!(error = %e, "could not checkpoint the write-ahead log; the database is still consistent");
        }
        match std::sync::Arc::try_unwrap(web::Data::into_inner(node)) {
            Ok(node) => {
                if let Err(e) = node.close() {
                    tracing::warn!(error = %e, "database did not close cleanly; it is still consistent");
                }
            }
            Err(_) => tracing::debug!(
                "node still shared at shutdown; the database closes when the last user drops it"
            ),
        }
        drop(_lock);
        Ok(())
    }
}

/// The runtime of the federation workers: two to four threads, as the machine allows. It
/// is dropped from async code (also when the serving future is itself dropped, as a test or
/// the load tools do), so it shuts down in the background instead of blocking there.
/// (`None` only once dropped.)
struct WorkerRuntime(Option<tokio::runtime::Runtime>);

impl WorkerRuntime {
    /// Starts the runtime with `workers` on it.
    fn start<F>(workers: F) -> std::io::Result<(WorkerRuntime, tokio::task::JoinHandle<F::Output>)>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let threads = std::thread::available_parallelism()
            .map_or(2, std::num::NonZeroUsize::get)
            .clamp(2, 4);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("punte-worker")
            .enable_all()
            .build()?;
        let handle = runtime.spawn(workers);
        Ok((WorkerRuntime(Some(runtime)), handle))
    }
}

impl Drop for WorkerRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The Punte JSON-LD context (`https://w3id.org/punte/v1`), served by every node so software
/// that cannot reach w3id.org can still expand Punte objects.
async fn context_document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/ld+json")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(punte_protocol::context::context_document())
}

async fn health(node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    web::block(move || node.organisation()).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })))
}

async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(format!(
        "nothing at {} {}",
        req.method(),
        req.path()
    )))
}
