//! Application Management API v2023-11-30 (`application_2023-11-30.json`).

use domain::Operation;

use crate::Call;

/// The grantless scope of the application's client-secret rotation.
pub const ROTATION_SCOPE: &str = "sellingpartnerapi::client_credential:rotation";

/// `POST /applications/2023-11-30/clientSecret`: Amazon makes a new LWA
/// client secret and delivers it to the application's registered SQS queue
/// (`APPLICATION_OAUTH_CLIENT_NEW_SECRET`); the old one keeps working for a
/// short overlap. 204 without a body; 400 when no queue is registered.
#[derive(Clone, Debug, Default)]
pub struct RotateApplicationClientSecret;

impl Call for RotateApplicationClientSecret {
    type Output = ();
    const OPERATION: Operation = Operation::RotateApplicationClientSecret;
    const METHOD: crate::Method = crate::Method::Post;

    fn path(&self) -> String {
        "/applications/2023-11-30/clientSecret".to_string()
    }

    fn grantless_scope(&self) -> Option<&'static str> {
        Some(ROTATION_SCOPE)
    }
}
