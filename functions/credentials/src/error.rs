//! The function's one error type, with Lambda's stable `errorType`s.

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("{0}")]
    Event(String),
    /// A notification that can never be applied (another application's, a
    /// payload without its part): dead-lettered with this reason.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Secrets(#[from] secrets::SecretsError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    SpApi(#[from] spapi::SpApiError),
    #[error("another run is rotating the client secret now; retry after it")]
    RotationInProgress,
    #[error("application notifications failed: {0}")]
    AllFailed(lambda_kit::batch::AllFailed),
}

impl lambda_kit::error::ErrorType for CredentialsError {
    fn error_type(&self) -> &'static str {
        match self {
            CredentialsError::Event(_) => "InvalidEvent",
            CredentialsError::Refused(_) => "NotificationRefused",
            CredentialsError::Secrets(e) => e.error_type(),
            CredentialsError::Store(e) => e.error_type(),
            CredentialsError::SpApi(e) => e.error_type(),
            CredentialsError::RotationInProgress => "RotationInProgress",
            CredentialsError::AllFailed(e) => e.error_type(),
        }
    }
}

impl CredentialsError {
    pub fn is_retryable(&self) -> bool {
        match self {
            CredentialsError::Event(_) | CredentialsError::Refused(_) => false,
            CredentialsError::Secrets(e) => e.is_retryable(),
            CredentialsError::Store(e) => e.is_retryable(),
            CredentialsError::SpApi(e) => e.is_retryable(),
            CredentialsError::RotationInProgress => true,
            CredentialsError::AllFailed(_) => true,
        }
    }
}
