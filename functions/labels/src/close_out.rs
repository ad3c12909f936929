//! End of day at the packing bench (label contract version 2): which
//! carriers have parcels not yet on a collection form, per ship-from
//! address (`unmanifested`); the carrier's collection form for one address
//! (`collection_form`, once per WMS idempotency key: the idempotency layer
//! in namespace `forms#<seller>` and the same key as Amazon's
//! `x-amzn-IdempotencyKey`); the forms made (`collection_form_history`);
//! and a form printed again (`collection_form_reprint`).
//!
//! Amazon's answer to generateCollectionForm is the PDF alone; its id comes
//! from the history (the newest form of that carrier at that address), so
//! a replay of the key reprints it by id, or — when Amazon's history did
//! not name it — asks generateCollectionForm again with the same key, which
//! Amazon answers with the same form.
//!
//! The `x-amzn-shipping-business-id` is the one of the ship-from address's
//! country (the warehouse's Amazon Shipping business), else of the seller's
//! first marketplace.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::Deadline;
use domain::settings::SellerSettings;
use serde::{Deserialize, Serialize};
use spapi::models::collection_forms::{
    CollectionFormResponse, DateRange, GenerateCollectionFormRequest,
    GetCollectionFormHistoryRequest, GetUnmanifestedShipmentsRequest,
};
use spapi::models::shipping as amazon;
use spapi::ops::collection_forms::{
    GenerateCollectionForm, GetCollectionForm, GetCollectionFormHistory, GetUnmanifestedShipments,
};
use spapi::ops::shipping::Business;
use spapi::{SellerContext, SpApiError};
use store::{Idempotency, IdempotencyError, RunOptions};
use wms::label::{
    Address, CollectionFormHistoryRequest, CollectionFormRecord, CollectionFormReprintRequest,
    CollectionFormRequest, CollectionFormResult, CollectionFormsResult, Document,
    UnmanifestedCarrier, UnmanifestedLocation, UnmanifestedRequest, UnmanifestedResult,
};

use crate::error::LabelError;
use crate::service::{LabelService, address, payload_hash};

/// The `audit` field of the lines that say how a collection form ended.
pub const COLLECTION_FORM_ACTION: &str = "label.collection_form";

/// Forms listed by `collection_form_history` when the WMS does not say.
pub const DEFAULT_HISTORY: u32 = 20;

/// What a collection form's idempotency key keeps (no document: a replay
/// prints it again).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct MadeForm {
    collection_form_id: Option<String>,
    carrier_id: String,
    created_at: Option<DateTime<Utc>>,
}

/// Two addresses are the same place: first line, postal code and country,
/// without case or surrounding spaces.
fn same_place(a: &amazon::Address, b: &amazon::Address) -> bool {
    let key = |x: &amazon::Address| {
        [
            x.address_line1.expose().trim().to_ascii_lowercase(),
            x.postal_code.expose().trim().to_ascii_lowercase(),
            x.country_code.trim().to_ascii_lowercase(),
        ]
    };
    key(a) == key(b)
}

/// Amazon's address as the contract's.
fn to_wms(a: &amazon::Address) -> Address {
    Address {
        name: a.name.clone(),
        company_name: a.company_name.clone(),
        address_line1: a.address_line1.clone(),
        address_line2: a.address_line2.clone(),
        address_line3: a.address_line3.clone(),
        city: a.city.clone(),
        state_or_region: a.state_or_region.clone(),
        postal_code: a.postal_code.clone(),
        country_code: a.country_code.clone(),
        phone: a.phone_number.clone(),
        email: a.email.clone(),
    }
}

fn documents(answer: CollectionFormResponse) -> Result<Vec<Document>, LabelError> {
    let doc = answer.collections_form_document.ok_or_else(|| {
        LabelError::Internal("Amazon answered without the collection form's document".into())
    })?;
    let content = doc.base64_encoded_content.ok_or_else(|| {
        LabelError::Internal("Amazon answered a collection form without content".into())
    })?;
    Ok(vec![Document {
        kind: "COLLECTION_FORM".into(),
        format: doc.document_format.unwrap_or_else(|| "PDF".into()),
        dpi: None,
        content_base64: content,
    }])
}

impl LabelService {
    /// The Amazon Shipping business of the warehouse's country, else of the
    /// seller's first marketplace (none: Amazon's default).
    fn close_out_business(&self, seller: &SellerSettings, ship_from: Option<&Address>) -> Business {
        ship_from
            .and_then(|a| domain::region::marketplace_for_country(seller.region, &a.country_code))
            .map(|m| Business::for_marketplace(m.id))
            .or_else(|| {
                seller
                    .marketplaces
                    .first()
                    .map(|m| Business::for_marketplace(m.as_str()))
            })
            .unwrap_or_default()
    }

    pub(crate) async fn unmanifested(
        &self,
        seller: &SellerSettings,
        request: &UnmanifestedRequest,
        deadline: &Deadline,
    ) -> Result<UnmanifestedResult, LabelError> {
        let call = GetUnmanifestedShipments {
            request: GetUnmanifestedShipmentsRequest::default(),
            business: self.close_out_business(seller, request.ship_from.as_ref()),
        };
        let answer = self
            .api
            .call(&SellerContext::from(seller), &call, deadline)
            .await?;
        let only = request.ship_from.as_ref().map(address);
        let carriers = answer
            .unmanifested_carrier_information_list
            .into_iter()
            .filter_map(|c| {
                let locations: Vec<UnmanifestedLocation> = c
                    .unmanifested_shipment_location_list
                    .iter()
                    .filter_map(|l| {
                        let at = l.address.as_ref()?;
                        if let Some(only) = &only
                            && !same_place(only, at)
                        {
                            return None;
                        }
                        Some(UnmanifestedLocation {
                            ship_from: to_wms(at),
                            last_manifest_at: l.last_manifest_date,
                        })
                    })
                    .collect();
                let carrier_id = c.carrier_id?;
                (!locations.is_empty()).then(|| UnmanifestedCarrier {
                    carrier_name: c.carrier_name.unwrap_or_else(|| carrier_id.clone()),
                    carrier_id,
                    locations,
                })
            })
            .collect();
        Ok(UnmanifestedResult { carriers })
    }

    pub(crate) async fn collection_form(
        &self,
        seller: &SellerSettings,
        request: &CollectionFormRequest,
        deadline: &Deadline,
    ) -> Result<CollectionFormResult, LabelError> {
        let hash = payload_hash(&wms::label::LabelOperation::CollectionForm(request.clone()))?;
        let layer = Idempotency::new(
            self.idempotency.clone(),
            format!("forms#{}", seller.seller_id),
        )
        .with_clock(self.clock.clone());
        let lock_for = deadline.remaining().min(Duration::from_secs(900));
        let options = RunOptions::new(
            self.clock.now_ms() + i64::try_from(lock_for.as_millis()).unwrap_or(i64::MAX),
            self.options.record_retention,
        )
        .with_payload_hash(hash);
        let fresh = std::sync::Mutex::new(None::<Vec<Document>>);
        let result = layer
            .run(&request.idempotency_key, options, async {
                let (made, docs) = self.make_form(seller, request, deadline).await?;
                *fresh.lock().unwrap_or_else(|p| p.into_inner()) = Some(docs);
                Ok::<_, LabelError>(made)
            })
            .await;
        let made = match result {
            Ok(made) => made,
            Err(IdempotencyError::AlreadyInProgress { .. }) => {
                return Err(LabelError::InProgress {
                    key: request.idempotency_key.clone(),
                });
            }
            Err(IdempotencyError::PayloadMismatch { .. }) => {
                return Err(LabelError::KeyReused {
                    key: request.idempotency_key.clone(),
                });
            }
            Err(IdempotencyError::Store(e)) => return Err(e.into()),
            Err(IdempotencyError::Handler(e)) => {
                lambda_kit::audit!(failure, COLLECTION_FORM_ACTION, seller = %seller.seller_id, carrier_id = %request.carrier_id, error = %e, "collection form failed");
                return Err(e);
            }
        };
        let fresh = fresh.into_inner().unwrap_or_else(|p| p.into_inner());
        let (replayed, documents) = match fresh {
            Some(docs) => (false, docs),
            None => {
                tracing::info!(seller_id = %seller.seller_id, carrier_id = %made.carrier_id, "replaying a collection form made before under the same idempotency key");
                (
                    true,
                    self.print_again(seller, request, &made, deadline).await?,
                )
            }
        };
        Ok(CollectionFormResult {
            collection_form_id: made.collection_form_id,
            carrier_id: Some(made.carrier_id),
            created_at: made.created_at,
            replayed,
            documents,
        })
    }

    /// generateCollectionForm for the carrier's parcels at the address
    /// (refused before any call when there are none), then its id from the
    /// history.
    async fn make_form(
        &self,
        seller: &SellerSettings,
        request: &CollectionFormRequest,
        deadline: &Deadline,
    ) -> Result<(MadeForm, Vec<Document>), LabelError> {
        let waiting = self
            .unmanifested(
                seller,
                &UnmanifestedRequest {
                    ship_from: Some(request.ship_from.clone()),
                },
                deadline,
            )
            .await?;
        if !waiting
            .carriers
            .iter()
            .any(|c| c.carrier_id == request.carrier_id)
        {
            return Err(LabelError::NothingToManifest {
                carrier: request.carrier_id.clone(),
            });
        }
        let business = self.close_out_business(seller, Some(&request.ship_from));
        let ship_from = address(&request.ship_from);
        let call = GenerateCollectionForm {
            request: GenerateCollectionFormRequest {
                client_reference_details: Vec::new(),
                carrier_id: request.carrier_id.clone(),
                ship_from_address: Some(ship_from.clone()),
            },
            idempotency_key: request.idempotency_key.clone(),
            business,
        };
        let ctx = SellerContext::from(seller);
        let answer = self.api.call(&ctx, &call, deadline).await?;
        let docs = documents(answer)?;
        // Its id: the newest form of the carrier at the address.
        let history = self
            .api
            .call(
                &ctx,
                &GetCollectionFormHistory {
                    request: GetCollectionFormHistoryRequest {
                        carrier_id: Some(request.carrier_id.clone()),
                        ship_from_address: Some(ship_from.clone()),
                        max_results: Some(5),
                        ..Default::default()
                    },
                    business,
                },
                deadline,
            )
            .await;
        let newest = match history {
            Ok(h) => h
                .collection_forms_history_record_list
                .into_iter()
                .filter(|r| {
                    r.ship_from_address
                        .as_ref()
                        .is_none_or(|a| same_place(a, &ship_from))
                })
                .max_by_key(|r| r.creation_date),
            Err(e) => {
                tracing::warn!(error = %e, "the new collection form's id could not be read from Amazon's history; a replay asks Amazon again with the same key");
                None
            }
        };
        let made = MadeForm {
            collection_form_id: newest.as_ref().and_then(|r| r.collection_form_id.clone()),
            carrier_id: request.carrier_id.clone(),
            created_at: newest.and_then(|r| r.creation_date),
        };
        lambda_kit::audit!(
            success,
            COLLECTION_FORM_ACTION,
            seller = %seller.seller_id,
            carrier_id = %made.carrier_id,
            collection_form_id = made.collection_form_id.as_deref().unwrap_or("unknown"),
            "collection form made"
        );
        Ok((made, docs))
    }

    /// A form made before: reprinted by id, else generated again with the
    /// same Amazon idempotency key (Amazon answers the same form).
    async fn print_again(
        &self,
        seller: &SellerSettings,
        request: &CollectionFormRequest,
        made: &MadeForm,
        deadline: &Deadline,
    ) -> Result<Vec<Document>, LabelError> {
        let business = self.close_out_business(seller, Some(&request.ship_from));
        let ctx = SellerContext::from(seller);
        let answer = match &made.collection_form_id {
            Some(id) => {
                self.api
                    .call(
                        &ctx,
                        &GetCollectionForm {
                            collection_form_id: id.clone(),
                            business,
                        },
                        deadline,
                    )
                    .await?
            }
            None => {
                self.api
                    .call(
                        &ctx,
                        &GenerateCollectionForm {
                            request: GenerateCollectionFormRequest {
                                client_reference_details: Vec::new(),
                                carrier_id: request.carrier_id.clone(),
                                ship_from_address: Some(address(&request.ship_from)),
                            },
                            idempotency_key: request.idempotency_key.clone(),
                            business,
                        },
                        deadline,
                    )
                    .await?
            }
        };
        documents(answer)
    }

    pub(crate) async fn collection_form_history(
        &self,
        seller: &SellerSettings,
        request: &CollectionFormHistoryRequest,
        deadline: &Deadline,
    ) -> Result<CollectionFormsResult, LabelError> {
        let date_range = (request.from.is_some() || request.to.is_some()).then_some(DateRange {
            start_date: request.from,
            end_date: request.to,
        });
        if let (Some(from), Some(to)) = (request.from, request.to)
            && from > to
        {
            return Err(LabelError::Invalid(
                "`from` is later than `to`: give the range oldest first".into(),
            ));
        }
        let call = GetCollectionFormHistory {
            request: GetCollectionFormHistoryRequest {
                client_reference_details: Vec::new(),
                max_results: Some(request.max_results.unwrap_or(DEFAULT_HISTORY)),
                carrier_id: request.carrier_id.clone(),
                ship_from_address: request.ship_from.as_ref().map(address),
                date_range,
            },
            business: self.close_out_business(seller, request.ship_from.as_ref()),
        };
        let answer = self
            .api
            .call(&SellerContext::from(seller), &call, deadline)
            .await?;
        let mut forms: Vec<CollectionFormRecord> = answer
            .collection_forms_history_record_list
            .into_iter()
            .map(|r| CollectionFormRecord {
                collection_form_id: r.collection_form_id,
                carrier_name: r.carrier_name,
                created_at: r.creation_date,
                status: r.generation_status.unwrap_or_else(|| "Unknown".into()),
                ship_from: r.ship_from_address.as_ref().map(to_wms),
            })
            .collect();
        forms.sort_by_key(|f| std::cmp::Reverse(f.created_at));
        Ok(CollectionFormsResult { forms })
    }

    pub(crate) async fn collection_form_reprint(
        &self,
        seller: &SellerSettings,
        request: &CollectionFormReprintRequest,
        deadline: &Deadline,
    ) -> Result<CollectionFormResult, LabelError> {
        let call = GetCollectionForm {
            collection_form_id: request.collection_form_id.clone(),
            business: self.close_out_business(seller, None),
        };
        let answer = match self
            .api
            .call(&SellerContext::from(seller), &call, deadline)
            .await
        {
            Ok(a) => a,
            Err(SpApiError::Amazon { status: 404, .. }) => {
                return Err(LabelError::UnknownCollectionForm(
                    request.collection_form_id.clone(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        Ok(CollectionFormResult {
            collection_form_id: Some(request.collection_form_id.clone()),
            carrier_id: None,
            created_at: None,
            replayed: false,
            documents: documents(answer)?,
        })
    }
}
