//! Pages sent compressed (gzip) when the browser accepts it: HTML, CSS, scripts and
//! text, which the console builds in memory anyway. ZIP downloads, photos, videos,
//! thumbnails and Excel files pass untouched, keeping their exact Content-Length
//! (they are compressed already, and a download's size is what shows its progress).

use std::io::Write;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Bodies smaller than this go as they are: gzip's header would eat the gain.
const MIN: usize = 1024;
/// A page is never this large; anything larger is sent as it is.
const MAX: usize = 32 << 20;

/// Whether the request's Accept-Encoding allows gzip (not `gzip;q=0`).
fn accepts_gzip(req: &Request) -> bool {
    req.headers().get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|e| {
        let mut parts = e.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        (name.eq_ignore_ascii_case("gzip") || name == "*") && q > 0.0
    })
}

/// Text the console makes: worth compressing. Everything else is left alone.
fn compressible(r: &Response) -> bool {
    let kind = r.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let text = ["text/html", "text/css", "text/javascript", "text/plain", "application/json"].iter().any(|t| kind.starts_with(t));
    text && !r.headers().contains_key(header::CONTENT_ENCODING) && !r.headers().contains_key(header::CONTENT_RANGE)
}

pub async fn layer(req: Request, next: Next) -> Response {
    let gzip = accepts_gzip(&req);
    let r = next.run(req).await;
    if !compressible(&r) {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    // Whether the answer depends on Accept-Encoding, for caches in between.
    parts.headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    let Ok(bytes) = axum::body::to_bytes(body, MAX).await else {
        return Response::from_parts(parts, Body::from("页面太大，无法发送"));
    };
    if !gzip || bytes.len() < MIN {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::fast());
    let packed = match enc.write_all(&bytes).and_then(|()| enc.finish()) {
        Ok(p) => p,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    parts.headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(packed.len()));
    Response::from_parts(parts, Body::from(packed))
}
