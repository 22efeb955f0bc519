//! How `object_store` reaches the S3 server: each request on its own hyper HTTP/1.1
//! connection, over rustls (ring, public CAs) for `https://` endpoints, as the link
//! downloads do. No connection pool and no reqwest: the archive's requests are few and
//! large (one object each), and hyper's client connection is already built.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use object_store::client::{ClientOptions, HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpRequestBody, HttpResponse, HttpResponseBody, HttpService};
use rustls_pki_types::ServerName;

/// How long connecting and the TLS handshake may each take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long sending a request (a part of up to 8 MiB) and getting the answer's head may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct Connector {
    tls: Arc<rustls::ClientConfig>,
}

impl Connector {
    pub fn new() -> Connector {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring offers the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Connector { tls: Arc::new(tls) }
    }
}

impl HttpConnector for Connector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(self.clone()))
    }
}

fn failed(kind: HttpErrorKind, what: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> HttpError {
    HttpError::new_boxed(kind, what.into())
}

#[async_trait::async_trait]
impl HttpService for Connector {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let uri = req.uri().clone();
        let host = uri.host().ok_or_else(|| failed(HttpErrorKind::Request, "地址中没有主机名"))?.to_string();
        let https = uri.scheme_str() == Some("https");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp = tokio::time::timeout(STEP_TIMEOUT, tokio::net::TcpStream::connect((host.as_str(), port)))
            .await
            .map_err(|_| failed(HttpErrorKind::Timeout, format!("连接 {host}:{port} 超时")))?
            .map_err(|e| HttpError::new(HttpErrorKind::Connect, e))?;
        let _ = tcp.set_nodelay(true);
        let authority = uri.authority().map(|a| a.as_str().to_string()).unwrap_or(host.clone());
        let (mut parts, body) = req.into_parts();
        // Origin form on the wire, with the Host header the signature was made for.
        parts.uri = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").parse().map_err(|e| HttpError::new(HttpErrorKind::Request, e))?;
        if !parts.headers.contains_key(hyper::header::HOST) {
            let value = hyper::header::HeaderValue::from_str(&authority).map_err(|e| HttpError::new(HttpErrorKind::Request, e))?;
            parts.headers.insert(hyper::header::HOST, value);
        }
        let req = hyper::Request::from_parts(parts, body);
        let resp = if https {
            let name = ServerName::try_from(host.clone()).map_err(|e| HttpError::new(HttpErrorKind::Request, e))?;
            let tls = tokio::time::timeout(STEP_TIMEOUT, tokio_rustls::TlsConnector::from(self.tls.clone()).connect(name, tcp))
                .await
                .map_err(|_| failed(HttpErrorKind::Timeout, format!("与 {host} 建立加密连接超时")))?
                .map_err(|e| HttpError::new(HttpErrorKind::Connect, e))?;
            send(TokioIo::new(tls), req).await?
        } else {
            send(TokioIo::new(tcp), req).await?
        };
        Ok(resp.map(|body| {
            use http_body_util::BodyExt;
            HttpResponseBody::new(body.map_err(|e| HttpError::new(HttpErrorKind::Interrupted, e)))
        }))
    }
}

async fn send<T>(io: T, req: hyper::Request<HttpRequestBody>) -> Result<hyper::Response<hyper::body::Incoming>, HttpError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, HttpRequestBody>(io).await.map_err(|e| HttpError::new(HttpErrorKind::Connect, e))?;
    // The connection is driven beside the request and ends with its body.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    tokio::time::timeout(REQUEST_TIMEOUT, sender.send_request(req))
        .await
        .map_err(|_| failed(HttpErrorKind::Timeout, "对象存储没有答复"))?
        .map_err(|e| HttpError::new(if e.is_canceled() || e.is_incomplete_message() { HttpErrorKind::Interrupted } else { HttpErrorKind::Request }, e))
}
