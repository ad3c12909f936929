//! The AWS SDK's own default HTTPS client (hyper 1, rustls on AWS-LC, the
//! OS's root certificates, `HTTPS_PROXY` honoured), with one difference: it
//! is prepared at its first request instead of while each SDK client is
//! built.
//!
//! Why (BENCHMARKS.md, "Init"): the SDK builds a whole TLS connector while
//! validating every new client, only to load the OS certificate store
//! early, then throws it away and builds another at the first request. With
//! three clients per function that was a certificate store load and six
//! parses of it; here the functions' three clients share one HTTP client
//! and the store is loaded and parsed once, at the first AWS call of a
//! container (the first invocation pays it: about a millisecond with
//! Lambda's single bundle, measured in BENCHMARKS.md).

use aws_config::BehaviorVersion;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;
use aws_smithy_runtime_api::shared::IntoShared;

/// The SDK's default HTTP client for `behavior`, prepared on first use;
/// `None` if this build of the SDK has no default client (then the SDK's
/// own default applies, unchanged).
pub fn first_use_client(behavior: BehaviorVersion) -> Option<SharedHttpClient> {
    let plugin = aws_smithy_runtime::client::defaults::default_http_client_plugin_v2(behavior)?;
    let components = plugin.runtime_components(&RuntimeComponentsBuilder::new("lambda-kit"));
    let default = components.http_client()?;
    Some(FirstUse(default).into_shared())
}

/// Delegates everything to the SDK's client except the base-config
/// validation, whose only effect is building (and dropping) a connector.
#[derive(Debug)]
struct FirstUse(SharedHttpClient);

impl HttpClient for FirstUse {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_the_sdks_default_client_and_keeps_its_metadata() {
        let ours = first_use_client(BehaviorVersion::latest()).expect("a default client");
        let plugin = aws_smithy_runtime::client::defaults::default_http_client_plugin_v2(
            BehaviorVersion::latest(),
        )
        .unwrap();
        let default = plugin
            .runtime_components(&RuntimeComponentsBuilder::new("test"))
            .http_client()
            .unwrap();
        // The user agent's connector metadata (hyper 1.x) is the SDK's.
        let (a, b) = (ours.connector_metadata(), default.connector_metadata());
        assert!(a.is_some());
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
}
