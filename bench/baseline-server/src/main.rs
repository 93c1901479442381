//! The practical ceiling for serving fixed bytes on this machine: a minimal hyper server that
//! answers every request with the same prepared body (or 304 when `If-None-Match` matches), with
//! no routing, authentication or snapshot lookups. `bench/run.sh` runs it beside Flagpole with
//! the very bytes Flagpole serves, so the ratio shows how much Flagpole's own work costs.
//!
//!   cargo run --release --manifest-path bench/baseline-server/Cargo.toml -- PORT BODY GZIP ETAG

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

struct Prepared {
    body: Bytes,
    gzip: Bytes,
    etag: HeaderValue,
}

fn answer(prepared: &Prepared, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let matches = request
        .headers()
        .get(IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == prepared.etag.as_bytes());
    let mut response = if matches {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let gzip = request
            .headers()
            .get(ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("gzip"));
        let mut response = Response::new(Full::new(if gzip {
            prepared.gzip.clone()
        } else {
            prepared.body.clone()
        }));
        if gzip {
            response
                .headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    };
    response.headers_mut().insert(ETAG, prepared.etag.clone());
    response
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, port, body, gzip, etag] = args.as_slice() else {
        return Err("usage: baseline_server PORT BODY_FILE GZIP_FILE ETAG".into());
    };
    let prepared = Arc::new(Prepared {
        body: Bytes::from(std::fs::read(body)?),
        gzip: Bytes::from(std::fs::read(gzip)?),
        etag: HeaderValue::from_str(etag)?,
    });
    let address: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let listener = TcpListener::bind(address).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let prepared = Arc::clone(&prepared);
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let response = answer(&prepared, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
