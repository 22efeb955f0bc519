//! A headless Chromium driven over W3C WebDriver (Debian's `chromium` and
//! `chromium-driver`; tests/install-deps.sh installs them): plain JSON over HTTP, so no
//! WebDriver crate is needed.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    agent: ureq::Agent,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.base).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    pub fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed: run tests/install-deps.sh");
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(60))).build().into();
        let root = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while agent.get(&format!("{root}/status")).call().is_err() {
            assert!(start.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--lang=zh-CN"]}}}});
        let r: Value = serde_json::from_str(&agent.post(&format!("{root}/session")).send(caps.to_string()).unwrap().body_mut().read_to_string().unwrap()).unwrap();
        let session = r["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {r}")).to_string();
        Browser { driver, base: format!("{root}/session/{session}"), agent }
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        self.try_call(method, path, body).unwrap_or_else(|v| panic!("WebDriver {path}: {v}"))
    }

    /// The command's value, or the whole answer when WebDriver answered with an error.
    fn try_call(&self, method: &str, path: &str, body: Value) -> Result<Value, Value> {
        let url = format!("{}{path}", self.base);
        let r = match method {
            "GET" => self.agent.get(&url).call(),
            _ => self.agent.post(&url).send(body.to_string()),
        };
        let v: Value = serde_json::from_str(&r.unwrap().body_mut().read_to_string().unwrap()).unwrap();
        if v["value"].get("error").is_some() { Err(v) } else { Ok(v["value"].clone()) }
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    fn element(&self, css: &str) -> String {
        let v = self.call("POST", "/element", json!({"using": "css selector", "value": css}));
        v[ELEMENT].as_str().unwrap().to_string()
    }

    pub fn click(&self, css: &str) {
        let e = self.element(css);
        self.call("POST", &format!("/element/{e}/click"), json!({}));
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.element(css);
        self.call("POST", &format!("/element/{e}/value"), json!({ "text": text }));
    }

    /// The text of the first element matching `css`. While a submitted form's next
    /// page replaces this one, the element found can go stale before its text is read:
    /// it is then found again on the new page.
    pub fn text(&self, css: &str) -> String {
        let mut last = Value::Null;
        for _ in 0..50 {
            let text = self.try_call("POST", "/element", json!({"using": "css selector", "value": css}))
                .and_then(|e| self.try_call("GET", &format!("/element/{}/text", e[ELEMENT].as_str().unwrap_or_default()), json!({})));
            match text {
                Ok(v) => return v.as_str().unwrap().to_string(),
                // Between two pages: the old element is gone, or the new one is not there yet.
                Err(v) if v["value"]["error"] == "stale element reference" || v["value"]["error"] == "no such element" => last = v,
                Err(v) => panic!("WebDriver text of {css}: {v}"),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no text for {css} within 5 s: {last}")
    }

    pub fn title(&self) -> String {
        self.call("GET", "/title", json!({})).as_str().unwrap().to_string()
    }

    /// Waits (up to 10 s) until the page's title is `title`: a click that submits a
    /// form returns before the next page has loaded.
    pub fn wait_for_title(&self, title: &str) {
        let start = Instant::now();
        loop {
            let now = self.title();
            if now == title {
                return;
            }
            if start.elapsed() > Duration::from_secs(10) {
                panic!("the page is \"{now}\", not \"{title}\":\n{}", self.text("body"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sets the window's size (CSS pixels): 1400 for a desk, 390 for a phone.
    pub fn resize(&self, width: u32, height: u32) {
        self.call("POST", "/window/rect", json!({ "width": width, "height": height }));
    }

    /// The value of a script run in the page (`return …`).
    pub fn script(&self, js: &str) -> Value {
        self.call("POST", "/execute/sync", json!({ "script": js, "args": [] }))
    }

    /// The value a script hands to its callback (the last argument), for a fetch.
    pub fn script_async(&self, js: &str) -> Value {
        self.call("POST", "/execute/async", json!({ "script": js, "args": [] }))
    }

    /// Saves a PNG of the window.
    pub fn screenshot(&self, path: &std::path::Path) {
        let b64 = self.call("GET", "/screenshot", json!({}));
        let png = decode_base64(b64.as_str().unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

pub fn decode_base64(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &c)| acc | (u32::from(value(c)) << (18 - 6 * i)));
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}
