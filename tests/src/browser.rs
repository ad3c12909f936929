//! A real headless browser for the tests: Debian's `chromium` driven by its
//! `chromedriver` over WebDriver (the `fantoccini` client), both installed by
//! `infra/setup.sh`. The browser is pinned to 127.0.0.1 (tooling.md): it is
//! started directly (not through Debian's wrapper script, which turns
//! extensions and their background networking on), every host name but
//! localhost resolves to nothing, and a proxy on a refused port catches
//! whatever would still try to leave the machine. Each browser has its own
//! profile directory and dies with the test process.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// The browser binary behind Debian's `/usr/bin/chromium` wrapper.
pub const CHROMIUM: &str = "/usr/lib/chromium/chromium";

/// A chromedriver process and a browser session on it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn missing(what: &str) -> ! {
    panic!(
        "{what} is missing: the browser tests need Debian's chromium and chromium-driver; run `bash infra/setup.sh` (as root it installs them with apt-get)"
    )
}

impl Browser {
    /// Starts chromedriver on a free port and a fresh headless browser.
    pub async fn start() -> Self {
        if !std::path::Path::new(CHROMIUM).exists() {
            missing(CHROMIUM);
        }
        let port = free_port();
        let mut command = Command::new("chromedriver");
        command
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl with PR_SET_PDEATHSIG only sets a flag of the
            // child; nothing else runs between fork and exec.
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let driver = match command.spawn() {
            Ok(child) => child,
            Err(_) => missing("chromedriver"),
        };
        let profile =
            std::env::temp_dir().join(format!("onboarding-browser-{:016x}", fastrand::u64(..)));
        // Anything that still tries the network goes to a port nobody serves.
        let dead_proxy = free_port();
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-default-apps".into(),
            "--disable-extensions".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--metrics-recording-only".into(),
            "--window-size=390,844".into(),
            format!("--proxy-server=http://127.0.0.1:{dead_proxy}"),
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": CHROMIUM, "args": args}),
        );
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("chromedriver did not start a browser: {e}"),
            }
        };
        Self {
            client,
            driver,
            profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Clicks the element `css`, once it is there (at most 20 s: the page
    /// a previous click leads to may still be loading).
    pub async fn click(&self, css: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} appeared: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Waits (at most 20 s) for `css` and returns its text.
    pub async fn text_of(&self, css: &str) -> String {
        let element = self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} appeared: {e}"));
        element.text().await.expect("its text")
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("the URL")
            .to_string()
    }

    pub async fn source(&self) -> String {
        self.client.source().await.expect("the page")
    }

    /// Types `text` into the input `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .send_keys(text)
            .await
            .expect("type");
    }

    /// A PNG of the page (to look at while developing).
    pub async fn screenshot(&self, path: &std::path::Path) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(path, png).expect("write the screenshot");
    }

    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
