//! Headless Chromium driven through chromedriver (Debian's `chromium` and `chromium-driver`,
//! installed by scripts/setup-web-test-deps) with fantoccini. Collects the page's console
//! errors, takes full-page screenshots into `test-artifacts/web/`, and switches between
//! desktop and phone widths. One browser runs at a time: the tests' servers start in parallel,
//! but two Chromiums on a small machine make every wait slower and flakier.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Taken by the running browser; see the module comment.
static BROWSER_SLOT: AtomicBool = AtomicBool::new(false);

/// Holds BROWSER_SLOT; dropping it (after the browser stopped, or on a panic) frees it.
struct Slot;

impl Slot {
    async fn take() -> Slot {
        while BROWSER_SLOT
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        BROWSER_SLOT.store(false, Ordering::Release);
    }
}

const WAIT: Duration = Duration::from_secs(20);

fn chromium() -> PathBuf {
    std::env::var_os("PORTICO_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into())
}

fn chromedriver() -> PathBuf {
    std::env::var_os("PORTICO_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromedriver".into())
}

/// Whether the browser tests can run. Without Chromium or chromedriver they are skipped
/// loudly, except under `CI=true`, where that is a failure.
pub fn browser_available() -> bool {
    let missing: Vec<String> = [chromium(), chromedriver()]
        .into_iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{} not found; scripts/setup-web-test-deps installs Debian's chromium and chromium-driver",
        missing.join(" and ")
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {message}"
    );
    eprintln!("*** SKIP: browser tests: {message} ***");
    false
}

/// Where screenshots and the chromedriver log go (gitignored).
pub fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-artifacts/web");
    std::fs::create_dir_all(&dir).expect("create test-artifacts/web");
    dir
}

/// Records uncaught errors, unhandled rejections, console.error calls, failed resource
/// loads and CSP violations of every document, before the page's own scripts run.
const ERROR_HOOK: &str = r#"
(() => {
  if (window.__porticoErrors) return;
  const errors = [];
  Object.defineProperty(window, '__porticoErrors', { value: errors });
  const describe = (a) => {
    if (a instanceof Error) return a.stack || a.message;
    if (a && typeof a === 'object') { try { return JSON.stringify(a); } catch { return String(a); } }
    return String(a);
  };
  const original = console.error.bind(console);
  console.error = (...args) => { errors.push('console.error: ' + args.map(describe).join(' ')); original(...args); };
  window.addEventListener('error', (e) => {
    if (e.error || e.message) errors.push('uncaught: ' + (e.error ? describe(e.error) : e.message));
    else errors.push('failed to load: ' + ((e.target && (e.target.src || e.target.href)) || 'resource'));
  }, true);
  window.addEventListener('unhandledrejection', (e) => errors.push('unhandled rejection: ' + describe(e.reason)));
  document.addEventListener('securitypolicyviolation', (e) => errors.push('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));
})();
"#;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_url: String,
    session: String,
    profile: PathBuf,
    http: reqwest::Client,
    artifacts: PathBuf,
    /// Put before every screenshot's name (e.g. `postgres-` for the PostgreSQL runs).
    pub screenshot_prefix: String,
    // Dropped after Drop for Browser has stopped chromedriver.
    _slot: Slot,
}

impl Browser {
    pub async fn start() -> Browser {
        let slot = Slot::take().await;
        let artifacts = artifacts_dir();
        let port = free_port();
        let log = artifacts.join("chromedriver.log");
        let mut command = Command::new(chromedriver());
        command
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so Drop ends chromedriver and the Chromium it started.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command.spawn().expect("start chromedriver");
        let driver_url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = match http.get(format!("{driver_url}/status")).send().await {
                Ok(r) => r
                    .json::<Value>()
                    .await
                    .map(|v| v["value"]["ready"] == json!(true))
                    .unwrap_or(false),
                Err(_) => false,
            };
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start; see {}",
                log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile =
            std::env::temp_dir().join(format!("portico-web-chromium-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&profile).expect("create Chromium profile dir");
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium().display().to_string(),
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                    "--hide-scrollbars",
                    "--lang=en-US",
                    format!("--user-data-dir={}", profile.display()),
                    "--window-size=1280,900",
                ],
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver_url)
            .await
            .expect("start a Chromium session");
        let session = client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let browser = Browser {
            client,
            driver,
            driver_url,
            session,
            profile,
            http,
            artifacts,
            screenshot_prefix: String::new(),
            _slot: slot,
        };
        browser
            .cdp(
                "Page.addScriptToEvaluateOnNewDocument",
                json!({ "source": ERROR_HOOK }),
            )
            .await;
        browser
    }

    /// A Chrome DevTools Protocol command through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let res = self
            .http
            .post(format!(
                "{}/session/{}/goog/cdp/execute",
                self.driver_url, self.session
            ))
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .expect("CDP request");
        let status = res.status();
        let body: Value = res.json().await.expect("CDP response");
        assert!(status.is_success(), "CDP {cmd} failed: {body}");
        body["value"].clone()
    }

    /// The desktop viewport: 1280×900.
    pub async fn desktop(&self) {
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
            .await;
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
    }

    /// A phone: 390×844, mobile viewport rules.
    pub async fn phone(&self) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true }),
        )
        .await;
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// `map` (a JavaScript expression of `e`) for every element `selector` matches, in
    /// document order.
    pub async fn strings(&self, selector: &str, map: &str) -> Vec<String> {
        let script =
            format!("return [...document.querySelectorAll(arguments[0])].map(e => {map});");
        let value = self.js(&script, vec![Value::from(selector)]).await;
        serde_json::from_value(value)
            .unwrap_or_else(|e| panic!("{script} returned more than strings: {e}"))
    }

    pub async fn path_and_query(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Polls `script` (a function body returning a value) until the result is truthy.
    pub async fn wait_until(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let last = match self.client.execute(script, vec![]).await {
                Ok(v) if truthy(&v) => return v,
                Ok(v) => v,
                Err(e) => Value::String(e.to_string()),
            };
            if Instant::now() > deadline {
                self.fail(what, &format!("last result: {last}")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for a visible element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        let script = format!(
            "const e = document.querySelector({}); return !!(e && e.getClientRects().length);",
            json!(css)
        );
        self.wait_until(&format!("element {css}"), &script).await;
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.js(
            "arguments[0].scrollIntoView({block: 'center'});",
            vec![serde_json::to_value(&element).expect("element")],
        )
        .await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Saves a screenshot and panics with the page's text, for a failed wait.
    async fn fail(&self, what: &str, detail: &str) -> ! {
        let shot = self.screenshot("FAILED").await;
        let text = self
            .client
            .execute("return document.body.innerText.slice(0, 3000);", vec![])
            .await
            .unwrap_or(Value::Null);
        let url = self.path_and_query().await;
        panic!(
            "timed out waiting for {what} at {url} ({detail}); screenshot {}\npage text:\n{}",
            shot.display(),
            text.as_str().unwrap_or("")
        );
    }

    /// A full-page PNG in test-artifacts/web/NAME.png.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let size = &metrics["cssContentSize"];
        let width = size["width"].as_f64().unwrap_or(1280.0).ceil();
        let height = size["height"].as_f64().unwrap_or(900.0).ceil().min(8000.0);
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 },
                }),
            )
            .await;
        let data = shot["data"].as_str().expect("screenshot data");
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
            .expect("screenshot base64");
        let path = self
            .artifacts
            .join(format!("{}{name}.png", self.screenshot_prefix));
        std::fs::write(&path, bytes).expect("write screenshot");
        path
    }

    /// Errors recorded by the page hook and SEVERE browser-log entries since the last call,
    /// minus those containing one of `allowed` (expected 404s of the not-found pages).
    pub async fn console_errors(&self, allowed: &[&str]) -> Vec<String> {
        let mut errors: Vec<String> = self
            .client
            .execute(
                "const e = window.__porticoErrors || []; const out = e.slice(); e.length = 0; return out;",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let log: Value = self
            .http
            .post(format!(
                "{}/session/{}/se/log",
                self.driver_url, self.session
            ))
            .json(&json!({ "type": "browser" }))
            .send()
            .await
            .expect("browser log")
            .json()
            .await
            .expect("browser log JSON");
        for entry in log["value"].as_array().into_iter().flatten() {
            if entry["level"] == "SEVERE" {
                errors.push(format!("browser log: {}", entry["message"]));
            }
        }
        errors.retain(|e| !allowed.iter().any(|a| e.contains(a)));
        errors
    }

    pub async fn assert_no_console_errors(&self, step: &str, allowed: &[&str]) {
        let errors = self.console_errors(allowed).await;
        assert!(
            errors.is_empty(),
            "console errors during {step}:\n{}",
            errors.join("\n")
        );
    }

    /// The document is no wider than the viewport (nothing scrolls sideways).
    pub async fn assert_no_horizontal_overflow(&self, step: &str) {
        let widths = self
            .js(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await;
        let scroll = widths[0].as_f64().unwrap_or(0.0);
        let inner = widths[1].as_f64().unwrap_or(0.0);
        assert!(
            scroll <= inner + 1.0,
            "{step}: the page is {scroll}px wide in a {inner}px viewport"
        );
    }

    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        self.stop_driver();
    }

    fn stop_driver(&mut self) {
        // The process group started above: chromedriver and the browser it launched.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(None) = self.driver.try_wait() {
            self.stop_driver();
        }
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}
