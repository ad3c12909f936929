//! Client configuration, built once in a function's `main` and passed in
//! (libraries never read environment variables).

use std::collections::HashMap;
use std::time::Duration;

use domain::retry::RetryPolicy;
use domain::{Region, TimeScale};

#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `AppName/Version (Language=Rust/x; Platform=...)`, see [`user_agent`].
    pub user_agent: String,
    /// LWA token endpoint (Amazon's in production, the simulator in tests).
    pub lwa_url: String,
    /// Base URL per region, overriding Amazon's hosts (simulator, tests).
    pub endpoint_overrides: HashMap<Region, String>,
    /// Base URL for every region (takes precedence over the per-region map).
    pub endpoint_override_all: Option<String>,
    pub retry: RetryPolicy,
    pub time_scale: TimeScale,
    pub connect_timeout: Duration,
    /// Longest a single HTTP exchange may take (also capped by the deadline).
    pub request_timeout: Duration,
    /// Most pages one pagination stream reads before stopping loudly.
    pub page_cap: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            user_agent: user_agent(env!("CARGO_PKG_VERSION"), "AWS-Lambda"),
            lwa_url: domain::region::LWA_TOKEN_URL.to_string(),
            endpoint_overrides: HashMap::new(),
            endpoint_override_all: None,
            retry: RetryPolicy::default(),
            time_scale: TimeScale::REAL,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            page_cap: 500,
        }
    }
}

impl ClientConfig {
    /// Everything pointed at one local base URL (the simulator), with time
    /// compressed by `speed`.
    pub fn local(base_url: &str, lwa_url: &str, speed: f64) -> Self {
        let time_scale = TimeScale::new(speed);
        Self {
            user_agent: user_agent(env!("CARGO_PKG_VERSION"), "local"),
            lwa_url: lwa_url.to_string(),
            endpoint_override_all: Some(base_url.trim_end_matches('/').to_string()),
            retry: RetryPolicy::scaled(time_scale),
            time_scale,
            ..Self::default()
        }
    }

    pub fn base_url(&self, region: Region, sandbox: bool) -> String {
        if let Some(all) = &self.endpoint_override_all {
            return all.clone();
        }
        self.endpoint_overrides
            .get(&region)
            .cloned()
            .unwrap_or_else(|| region.endpoint(sandbox).to_string())
    }
}

/// The User-Agent Amazon recommends: `AppName/Version (Language=...; Platform=...)`,
/// with `/ ( ) = ;` escaped inside values.
pub fn user_agent(version: &str, platform: &str) -> String {
    fn esc(v: &str) -> String {
        let mut out = String::with_capacity(v.len());
        for c in v.chars() {
            if matches!(c, '/' | '(' | ')' | '=' | ';') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }
    format!(
        "wms-amazon-connector/{} (Language=Rust/{}; Platform={})",
        esc(version),
        esc(env!("CARGO_PKG_RUST_VERSION")),
        esc(platform)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_has_amazons_shape_and_escapes() {
        let ua = user_agent("0.1.0", "AWS-Lambda");
        assert!(
            ua.starts_with("wms-amazon-connector/0.1.0 (Language=Rust/"),
            "{ua}"
        );
        assert!(ua.ends_with("; Platform=AWS-Lambda)"), "{ua}");
        assert_eq!(
            user_agent("1(2)", "a/b;c=d"),
            format!(
                "wms-amazon-connector/1\\(2\\) (Language=Rust/{}; Platform=a\\/b\\;c\\=d)",
                env!("CARGO_PKG_RUST_VERSION")
            )
        );
    }

    #[test]
    fn overrides_win_over_amazon_hosts() {
        let mut c = ClientConfig::default();
        assert_eq!(
            c.base_url(Region::Eu, false),
            "https://sellingpartnerapi-eu.amazon.com"
        );
        c.endpoint_overrides
            .insert(Region::Eu, "http://127.0.0.1:1".into());
        assert_eq!(c.base_url(Region::Eu, true), "http://127.0.0.1:1");
        let local = ClientConfig::local(
            "http://127.0.0.1:9/",
            "http://127.0.0.1:9/auth/o2/token",
            100.0,
        );
        assert_eq!(local.base_url(Region::Fe, false), "http://127.0.0.1:9");
        assert_eq!(local.retry.base, Duration::from_millis(10));
    }
}
