//! The real SP-API client pointed at a simulator, with credentials held in
//! memory (the Secrets Manager path is tested separately against moto).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::quota::BucketStore;
use domain::{PortError, Region, SellerId};
use secrecy::SecretString;
use spapi::quota::MemoryBuckets;
use spapi::{AppCredentials, ClientConfig, Credentials, SellerContext, SpApi};

use crate::sim::{CLIENT_ID, CLIENT_SECRET, SimHandle, TestSeller};

/// Credentials from memory; remembers which sellers were reported revoked.
#[derive(Default)]
pub struct MemoryCredentials {
    tokens: Mutex<HashMap<String, String>>,
    pub revoked: Mutex<Vec<(String, String)>>,
}

impl MemoryCredentials {
    pub fn with(sellers: &[&TestSeller]) -> Arc<Self> {
        let c = Self::default();
        {
            let mut t = c.tokens.lock().unwrap_or_else(|p| p.into_inner());
            for s in sellers {
                t.insert(s.seller_id.clone(), s.refresh_token.clone());
            }
        }
        Arc::new(c)
    }

    pub fn revoked_sellers(&self) -> Vec<String> {
        self.revoked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(s, _)| s.clone())
            .collect()
    }
}

#[async_trait::async_trait]
impl Credentials for MemoryCredentials {
    async fn app(&self) -> Result<AppCredentials, PortError> {
        Ok(AppCredentials {
            client_id: CLIENT_ID.to_string(),
            client_secret: SecretString::from(CLIENT_SECRET),
        })
    }

    async fn refresh_token(&self, seller: &SellerId) -> Result<SecretString, PortError> {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(seller.as_str())
            .map(|t| SecretString::from(t.clone()))
            .ok_or_else(|| PortError::permanent(format!("no refresh token for {seller}")))
    }

    async fn authorization_revoked(
        &self,
        seller: &SellerId,
        reason: &str,
    ) -> Result<(), PortError> {
        self.revoked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((seller.to_string(), reason.to_string()));
        Ok(())
    }
}

/// The client configured for the simulator at its speed.
pub fn sim_client(
    sim: &SimHandle,
    credentials: Arc<dyn Credentials>,
    buckets: Arc<dyn BucketStore>,
) -> SpApi {
    let config = ClientConfig::local(&sim.base_url(), &sim.lwa_token_url(), sim.control().speed());
    SpApi::new(config, credentials, buckets).expect("build the SP-API client")
}

/// The client with in-memory buckets and credentials for `sellers`.
pub fn sim_client_for(sim: &SimHandle, sellers: &[&TestSeller]) -> (SpApi, Arc<MemoryCredentials>) {
    let creds = MemoryCredentials::with(sellers);
    let api = sim_client(sim, creds.clone(), Arc::new(MemoryBuckets::default()));
    (api, creds)
}

/// The seller as the client addresses it (EU: the simulator's sellers are in Europe).
pub fn context(seller: &TestSeller) -> SellerContext {
    SellerContext {
        seller_id: SellerId::new(&seller.seller_id).expect("a valid seller id"),
        region: Region::Eu,
        sandbox: false,
    }
}
