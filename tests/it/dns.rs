//! What the sender checks need without a network: a loopback DNS server answering TXT
//! queries from a table (`<selector>._domainkey.<domain>`, `_dmarc.<domain>`), NXDOMAIN
//! for every other name, and silence when asked (a timeout); a test RSA key made with
//! openssl; and mail signed with it exactly as QQ signs (rsa-sha256, relaxed/relaxed,
//! `s=s201512`) by mail-auth's signer.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use mail_auth::common::crypto::{RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner};

/// QQ's selector.
pub const QQ_SELECTOR: &str = "s201512";
/// What qq.com publishes: `p=quarantine`.
pub const QQ_DMARC: &str = "v=DMARC1; p=quarantine; rua=mailto:mailauth-reports@qq.com";

#[derive(Default)]
struct State {
    records: Mutex<HashMap<String, Vec<String>>>,
    silent: AtomicBool,
    queries: AtomicUsize,
    stop: AtomicBool,
}

pub struct Dns {
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl Dns {
    pub fn start() -> Dns {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let addr = sock.local_addr().unwrap();
        let state = Arc::new(State::default());
        let s = state.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !s.stop.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else { continue };
                s.queries.fetch_add(1, Ordering::Relaxed);
                if s.silent.load(Ordering::Relaxed) {
                    continue;
                }
                let reply = answer(&buf[..n], &s.records.lock().unwrap());
                if let Some(r) = reply {
                    let _ = sock.send_to(&r, from);
                }
            }
        });
        Dns { addr, state }
    }

    /// The DNS as qq.com has it: the test key under `s201512._domainkey.qq.com` and
    /// `p=quarantine`.
    pub fn qq() -> Dns {
        let d = Dns::start();
        d.txt(&format!("{QQ_SELECTOR}._domainkey.qq.com"), &key_record());
        d.txt("_dmarc.qq.com", QQ_DMARC);
        d
    }

    /// Adds a TXT record (`name` without the final dot).
    pub fn txt(&self, name: &str, value: &str) {
        self.state.records.lock().unwrap().entry(name.to_ascii_lowercase()).or_default().push(value.to_string());
    }

    /// Stops answering (every query times out) or starts again.
    pub fn silent(&self, on: bool) {
        self.state.silent.store(on, Ordering::Relaxed);
    }

    /// Queries received so far.
    pub fn queries(&self) -> usize {
        self.state.queries.load(Ordering::Relaxed)
    }

    /// The `[intake]` lines that check senders with `mode` against this server.
    pub fn intake(&self, mode: &str) -> String {
        format!("sender_auth = \"{mode}\"\ndns_servers = [\"{}\"]", self.addr)
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
    }
}

/// The reply to a query: TXT records from the table, NXDOMAIN for a name it does not
/// have (NOERROR with no answer for a name it has, asked for another type).
fn answer(q: &[u8], records: &HashMap<String, Vec<String>>) -> Option<Vec<u8>> {
    if q.len() < 12 || u16::from_be_bytes([q[4], q[5]]) != 1 {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *q.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(q.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*q.get(i)?, *q.get(i + 1)?]);
    let end = i + 4;
    q.get(..end)?;
    let name = labels.join(".");
    let known = records.get(&name);
    let found: &[String] = if qtype == 16 { known.map_or(&[], |v| v.as_slice()) } else { &[] };
    let mut r = Vec::with_capacity(512);
    r.extend_from_slice(&q[0..2]);
    r.push(0x84 | (q[2] & 0x01)); // QR, AA, RD as asked
    r.push(0x80 | if known.is_some() { 0 } else { 3 }); // RA; NXDOMAIN
    r.extend_from_slice(&[0, 1]);
    r.extend_from_slice(&(found.len() as u16).to_be_bytes());
    r.extend_from_slice(&[0, 0, 0, 0]);
    r.extend_from_slice(&q[12..end]);
    for v in found {
        r.extend_from_slice(&[0xC0, 0x0C, 0, 16, 0, 1]);
        r.extend_from_slice(&3600u32.to_be_bytes());
        let mut rdata = Vec::new();
        for chunk in v.as_bytes().chunks(255) {
            rdata.push(chunk.len() as u8);
            rdata.extend_from_slice(chunk);
        }
        r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        r.extend_from_slice(&rdata);
    }
    Some(r)
}

/// A 2048-bit RSA key made with openssl once per test process: (PKCS#8 DER, the
/// public key's DER in base64).
fn key() -> &'static (Vec<u8>, String) {
    static KEY: OnceLock<(Vec<u8>, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("dkim.der");
        let ok = std::process::Command::new("openssl")
            .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-outform", "DER", "-out"])
            .arg(&private)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "openssl genpkey");
        // OpenSSL 3 writes the DER key as PKCS#1; ring reads RSA keys from PKCS#8.
        let pkcs8 = dir.path().join("dkim.p8");
        let ok = std::process::Command::new("openssl").args(["pkcs8", "-topk8", "-nocrypt", "-inform", "DER", "-outform", "DER", "-in"]).arg(&private).arg("-out").arg(&pkcs8).status().unwrap().success();
        assert!(ok, "openssl pkcs8 -topk8");
        let public = std::process::Command::new("openssl").args(["pkey", "-inform", "DER", "-pubout", "-outform", "DER", "-in"]).arg(&private).output().unwrap();
        assert!(public.status.success(), "openssl pkey -pubout");
        (std::fs::read(&pkcs8).unwrap(), crate::fixtures::b64(&public.stdout))
    })
}

/// The `_domainkey` TXT record of the test key.
pub fn key_record() -> String {
    format!("v=DKIM1; k=rsa; p={}", key().1)
}

/// `raw` with a DKIM-Signature of `domain` and `selector` on top, made as QQ makes it:
/// rsa-sha256, relaxed/relaxed, over the headers QQ signs.
pub fn sign(raw: &[u8], domain: &str, selector: &str) -> Vec<u8> {
    let der = rustls_pki_types::PrivateKeyDer::Pkcs8(rustls_pki_types::PrivatePkcs8KeyDer::from(key().0.as_slice()));
    let pk = RsaKey::<Sha256>::from_key_der(der).unwrap();
    let signature = DkimSigner::from_key(pk)
        .domain(domain)
        .selector(selector)
        .headers(["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"])
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
        .sign(raw)
        .unwrap();
    let mut out = signature.to_header().into_bytes();
    out.extend_from_slice(raw);
    out
}

/// `raw` with QQ's signature, as QQ's outgoing server sends it.
pub fn qq_signed(raw: &[u8]) -> Vec<u8> {
    sign(raw, "qq.com", QQ_SELECTOR)
}

/// `raw` with headers put on top (what receiving servers add: `Authentication-Results`,
/// `Received`), each a full line ending in CRLF.
pub fn on_top(headers: &str, raw: &[u8]) -> Vec<u8> {
    let mut out = headers.as_bytes().to_vec();
    out.extend_from_slice(raw);
    out
}
