//! Sellers API v1.

use domain::Operation;

use crate::Call;
use crate::models::sellers::GetMarketplaceParticipationsResponse;

/// `GET /sellers/v1/marketplaceParticipations`: the marketplaces the seller
/// sells in; used at onboarding to check the consent and the marketplace ids.
#[derive(Clone, Debug, Default)]
pub struct GetMarketplaceParticipations;

impl Call for GetMarketplaceParticipations {
    type Output = GetMarketplaceParticipationsResponse;
    const OPERATION: Operation = Operation::GetMarketplaceParticipations;

    fn path(&self) -> String {
        "/sellers/v1/marketplaceParticipations".to_string()
    }
}
