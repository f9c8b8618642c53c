//! The peers: axum on a tokio multi-thread runtime and actix-web, each with
//! one worker per core, and the store of the `ask` workload behind a std
//! `Mutex` that every worker shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::servers::announce;
use crate::{Error, HELLO};

/// The counters of the `ask` workload, shared by the workers.
type Counts = Arc<Mutex<HashMap<String, u64>>>;

/// Counts one more hit of `key`; the new count.
fn hit(counts: &Mutex<HashMap<String, u64>>, key: String) -> u64 {
    let mut counts = counts.lock().unwrap_or_else(PoisonError::into_inner);
    let count = counts.entry(key).or_insert(0);
    *count += 1;
    *count
}

/// axum with `worker_threads = cores`: routes `GET /` and, for `ask`,
/// `GET /hit/{key}`.
pub fn axum(listener: std::net::TcpListener, ask: bool, cores: usize) -> Result<(), Error> {
    use axum::extract::{Path, State};
    use axum::routing::get;
    use axum::serve::ListenerExt;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let router: axum::Router<Counts> = axum::Router::new().route("/", get(|| async { HELLO }));
        let router = if ask {
            router.route(
                "/hit/{key}",
                get(
                    |State(counts): State<Counts>, Path(key): Path<String>| async move {
                        hit(&counts, key).to_string()
                    },
                ),
            )
        } else {
            router
        };
        let app = router.with_state(Counts::default());
        let listener = listener.tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
        announce(addr)?;
        axum::serve(listener, app).await?;
        Ok(())
    })
}

/// actix-web with `workers = cores`: the same routes.
pub fn actix(listener: std::net::TcpListener, ask: bool, cores: usize) -> Result<(), Error> {
    use actix_web::{App, HttpResponse, HttpServer, web};

    async fn hello() -> HttpResponse {
        HttpResponse::Ok().content_type("text/plain").body(HELLO)
    }

    async fn hit_route(
        counts: web::Data<Mutex<HashMap<String, u64>>>,
        key: web::Path<String>,
    ) -> HttpResponse {
        let count = hit(&counts, key.into_inner());
        HttpResponse::Ok()
            .content_type("text/plain")
            .body(count.to_string())
    }

    let addr = listener.local_addr()?;
    let counts = Counts::default();
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::from(counts.clone()))
                .route("/", web::get().to(hello))
                .configure(|config| {
                    if ask {
                        config.route("/hit/{key}", web::get().to(hit_route));
                    }
                })
        })
        .workers(cores)
        // Its default (5 s) would close the idle connections that `idle`
        // counts; hyper's (axum's and the isolates') never does.
        .keep_alive(Duration::from_secs(300))
        .tcp_nodelay(true)
        .disable_signals()
        .listen(listener)?
        .run();
        announce(addr)?;
        server.await?;
        Ok(())
    })
}
