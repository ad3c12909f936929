//! The catalogue of SP-API operations the connector calls, with the published
//! default rate (requests per second) and burst from each model's description
//! (`shared/amazon/README.md`, "Operations the project calls"). Adding an
//! operation starts here: one variant, one row in `spec()`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How an operation may be retried after a 429 or 5xx.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetrySafety {
    /// Reads (GET) and idempotent writes (PUT/DELETE/PATCH of a whole value).
    Idempotent,
    /// A POST that Amazon de-duplicates only when the request carries an idempotency key.
    WithIdempotencyKey,
    /// A POST that must never be sent twice blindly.
    Unsafe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Operation {
    SearchOrders,
    GetOrder,
    GetMarketplaceParticipations,
    ConfirmShipment,
    CreateRestrictedDataToken,
    CreateFeedDocument,
    CreateFeed,
    GetFeed,
    GetFeeds,
    GetFeedDocument,
    PatchListingsItem,
    GetListingsItem,
    GetRates,
    PurchaseShipment,
    OneClickShipment,
    CancelShipment,
    GetTracking,
    GetShipmentDocuments,
    RotateApplicationClientSecret,
    // Issue 17 (additional inputs, collection forms, SKU reconciliation).
    GetAdditionalInputs,
    GenerateCollectionForm,
    GetCollectionFormHistory,
    GetUnmanifestedShipments,
    GetCollectionForm,
    SearchListingsItems,
    // Notifications API v1 (issue 15).
    GetDestinations,
    CreateDestination,
    GetSubscription,
    CreateSubscription,
    DeleteSubscriptionById,
}

/// Static facts about one operation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OperationSpec {
    /// Amazon's operationId, used in bucket keys, logs and metrics.
    pub name: &'static str,
    pub rate_per_sec: f64,
    pub burst: u32,
    pub retry: RetrySafety,
}

impl Operation {
    pub const ALL: [Operation; 30] = [
        Operation::SearchOrders,
        Operation::GetOrder,
        Operation::GetMarketplaceParticipations,
        Operation::ConfirmShipment,
        Operation::CreateRestrictedDataToken,
        Operation::CreateFeedDocument,
        Operation::CreateFeed,
        Operation::GetFeed,
        Operation::GetFeeds,
        Operation::GetFeedDocument,
        Operation::PatchListingsItem,
        Operation::GetListingsItem,
        Operation::GetRates,
        Operation::PurchaseShipment,
        Operation::OneClickShipment,
        Operation::CancelShipment,
        Operation::GetTracking,
        Operation::GetShipmentDocuments,
        Operation::RotateApplicationClientSecret,
        Operation::GetAdditionalInputs,
        Operation::GenerateCollectionForm,
        Operation::GetCollectionFormHistory,
        Operation::GetUnmanifestedShipments,
        Operation::GetCollectionForm,
        Operation::SearchListingsItems,
        Operation::GetDestinations,
        Operation::CreateDestination,
        Operation::GetSubscription,
        Operation::CreateSubscription,
        Operation::DeleteSubscriptionById,
    ];

    pub const fn spec(self) -> OperationSpec {
        use RetrySafety::*;
        let (name, rate_per_sec, burst, retry) = match self {
            Operation::SearchOrders => ("searchOrders", 0.0056, 20, Idempotent),
            Operation::GetOrder => ("getOrder", 0.5, 30, Idempotent),
            Operation::GetMarketplaceParticipations => {
                ("getMarketplaceParticipations", 0.016, 15, Idempotent)
            }
            // Amazon rejects a second confirmation of the same package, so a
            // retried confirmShipment cannot double-ship; the ledger is the
            // first guard (issue 4).
            Operation::ConfirmShipment => ("confirmShipment", 2.0, 10, Idempotent),
            Operation::CreateRestrictedDataToken => {
                ("createRestrictedDataToken", 1.0, 10, Idempotent)
            }
            // A second feed document is harmless (unused documents expire).
            Operation::CreateFeedDocument => ("createFeedDocument", 0.5, 15, Idempotent),
            Operation::CreateFeed => ("createFeed", 0.0083, 15, Unsafe),
            Operation::GetFeed => ("getFeed", 2.0, 15, Idempotent),
            Operation::GetFeeds => ("getFeeds", 0.0222, 10, Idempotent),
            Operation::GetFeedDocument => ("getFeedDocument", 0.0222, 10, Idempotent),
            Operation::PatchListingsItem => ("patchListingsItem", 5.0, 5, Idempotent),
            Operation::GetListingsItem => ("getListingsItem", 5.0, 10, Idempotent),
            Operation::GetRates => ("getRates", 80.0, 100, Idempotent),
            Operation::PurchaseShipment => ("purchaseShipment", 80.0, 100, WithIdempotencyKey),
            Operation::OneClickShipment => ("oneClickShipment", 80.0, 100, WithIdempotencyKey),
            Operation::CancelShipment => ("cancelShipment", 80.0, 100, Idempotent),
            Operation::GetTracking => ("getTracking", 80.0, 100, Idempotent),
            Operation::GetShipmentDocuments => ("getShipmentDocuments", 80.0, 100, Idempotent),
            // Grantless (the application's bucket). Each call makes Amazon
            // issue another secret: never repeated blindly.
            Operation::RotateApplicationClientSecret => {
                ("rotateApplicationClientSecret", 0.0167, 1, Unsafe)
            }
            Operation::GetAdditionalInputs => ("getAdditionalInputs", 80.0, 100, Idempotent),
            // A retried POST with the same `x-amzn-IdempotencyKey` is the same
            // collection form (the model gives this operation the header).
            Operation::GenerateCollectionForm => {
                ("generateCollectionForm", 80.0, 100, WithIdempotencyKey)
            }
            // Reads sent as PUT with a body (the model's choice).
            Operation::GetCollectionFormHistory => {
                ("getCollectionFormHistory", 80.0, 100, Idempotent)
            }
            Operation::GetUnmanifestedShipments => {
                ("getUnmanifestedShipments", 80.0, 100, Idempotent)
            }
            Operation::GetCollectionForm => ("getCollectionForm", 80.0, 100, Idempotent),
            Operation::SearchListingsItems => ("searchListingsItems", 5.0, 5, Idempotent),
            // Notifications: 1 request/s, burst 5 (the model's usage plans).
            // Creating twice is refused by Amazon (409 Conflict), never doubled.
            Operation::GetDestinations => ("getDestinations", 1.0, 5, Idempotent),
            Operation::CreateDestination => ("createDestination", 1.0, 5, Idempotent),
            Operation::GetSubscription => ("getSubscription", 1.0, 5, Idempotent),
            Operation::CreateSubscription => ("createSubscription", 1.0, 5, Idempotent),
            Operation::DeleteSubscriptionById => ("deleteSubscriptionById", 1.0, 5, Idempotent),
        };
        OperationSpec {
            name,
            rate_per_sec,
            burst,
            retry,
        }
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == name)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_quotas_match_the_fact_sheet() {
        // (operation, rate, burst) rows of shared/amazon/README.md
        for (op, rate, burst) in [
            (Operation::SearchOrders, 0.0056, 20),
            (Operation::GetOrder, 0.5, 30),
            (Operation::GetMarketplaceParticipations, 0.016, 15),
            (Operation::ConfirmShipment, 2.0, 10),
            (Operation::CreateFeed, 0.0083, 15),
            (Operation::GetFeedDocument, 0.0222, 10),
            (Operation::GetFeeds, 0.0222, 10),
            (Operation::PatchListingsItem, 5.0, 5),
            (Operation::PurchaseShipment, 80.0, 100),
            (Operation::SearchListingsItems, 5.0, 5),
            (Operation::GenerateCollectionForm, 80.0, 100),
            (Operation::GetAdditionalInputs, 80.0, 100),
            (Operation::CreateDestination, 1.0, 5),
            (Operation::CreateSubscription, 1.0, 5),
        ] {
            assert_eq!(op.spec().rate_per_sec, rate, "{op}");
            assert_eq!(op.spec().burst, burst, "{op}");
        }
    }

    #[test]
    fn names_are_unique_and_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(op));
        }
    }
}
