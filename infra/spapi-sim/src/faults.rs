//! Fault injection: a queue of faults, each consumed by the next call it
//! matches, and "storms" that throttle every call of an operation for a while.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use domain::Operation;
use serde::{Deserialize, Serialize};

use crate::SimError;

/// One misbehaviour, consumed by one call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// 429 QuotaExceeded even though the bucket has tokens.
    Throttle,
    /// An error status (500..=599) with an `InternalFailure`/`ServiceUnavailable` body.
    Status { code: u16 },
    /// Sleep this long (wall time, not scaled) before answering normally.
    Slow { millis: u64 },
    /// 200 with a body that is not valid JSON (cut in half).
    Malformed,
    /// 200 with valid JSON in which one field has the wrong type.
    WrongType,
    /// The next searchOrders call that carries a `paginationToken` gets the
    /// previous page again, with the same `nextToken` the client already used.
    DuplicatePage,
    /// The next searchOrders call that carries a `paginationToken` is
    /// refused as Amazon refuses a token past its 24 hours (400
    /// `InvalidInput`, "The paginationToken has expired.").
    ExpiredPageToken,
    /// Every access token issued so far expires now; the call then gets 403.
    ExpireTokens,
    /// 403 `Unauthorized` with a valid token: the application lacks the role
    /// the operation needs for this seller.
    Unauthorized,
}

impl Fault {
    pub fn slow(d: Duration) -> Self {
        Fault::Slow {
            millis: u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
        }
    }

    pub fn status(code: u16) -> Self {
        Fault::Status { code }
    }

    pub(crate) fn validate(&self) -> Result<(), SimError> {
        match self {
            Fault::Status { code } if !(500..=599).contains(code) => Err(SimError::InvalidFault(
                format!("status {code} is not a 5xx"),
            )),
            _ => Ok(()),
        }
    }
}

/// Which calls a fault applies to. On the wire (control API): `"any"`,
/// `"lwa"` or an operationId such as `"searchOrders"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FaultTarget {
    /// Any SP-API operation (not the LWA endpoint).
    Any,
    /// The LWA token endpoint (only `Status`, `Slow` and `Malformed` apply).
    Lwa,
    Operation(Operation),
}

impl fmt::Display for FaultTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultTarget::Any => f.write_str("any"),
            FaultTarget::Lwa => f.write_str("lwa"),
            FaultTarget::Operation(op) => f.write_str(op.name()),
        }
    }
}

impl FromStr for FaultTarget {
    type Err = SimError;
    fn from_str(s: &str) -> Result<Self, SimError> {
        match s {
            "any" => Ok(FaultTarget::Any),
            "lwa" => Ok(FaultTarget::Lwa),
            name => Operation::from_name(name)
                .map(FaultTarget::Operation)
                .ok_or_else(|| SimError::UnknownOperation(name.to_string())),
        }
    }
}

impl TryFrom<String> for FaultTarget {
    type Error = SimError;
    fn try_from(s: String) -> Result<Self, SimError> {
        s.parse()
    }
}

impl From<FaultTarget> for String {
    fn from(t: FaultTarget) -> String {
        t.to_string()
    }
}

impl From<Operation> for FaultTarget {
    fn from(op: Operation) -> Self {
        FaultTarget::Operation(op)
    }
}

/// An SP-API call, as faults see it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OpCall {
    pub op: Operation,
    /// A searchOrders call that continues a search (`DuplicatePage` applies).
    pub has_page_token: bool,
}

/// The call a fault is matched against.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Call {
    Lwa,
    Operation(OpCall),
}

impl From<OpCall> for Call {
    fn from(c: OpCall) -> Self {
        Call::Operation(c)
    }
}

fn applies(target: FaultTarget, fault: &Fault, call: Call) -> bool {
    match call {
        Call::Lwa => {
            target == FaultTarget::Lwa
                && matches!(
                    fault,
                    Fault::Status { .. } | Fault::Slow { .. } | Fault::Malformed
                )
        }
        Call::Operation(OpCall { op, has_page_token }) => {
            let target_ok = match target {
                FaultTarget::Any => true,
                FaultTarget::Lwa => false,
                FaultTarget::Operation(t) => t == op,
            };
            let kind_ok = match fault {
                Fault::DuplicatePage | Fault::ExpiredPageToken => {
                    op == Operation::SearchOrders && has_page_token
                }
                _ => true,
            };
            target_ok && kind_ok
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    queue: VecDeque<(FaultTarget, Fault)>,
    storms: HashMap<Operation, u32>,
}

impl Faults {
    pub fn push(&mut self, target: FaultTarget, fault: Fault) {
        self.queue.push_back((target, fault));
    }

    /// Removes and returns the first queued fault that applies to `call`.
    pub fn take(&mut self, call: Call) -> Option<Fault> {
        let i = self.queue.iter().position(|(t, f)| applies(*t, f, call))?;
        self.queue.remove(i).map(|(_, f)| f)
    }

    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    pub fn start_storm(&mut self, op: Operation, calls: u32) {
        if calls == 0 {
            self.storms.remove(&op);
        } else {
            self.storms.insert(op, calls);
        }
    }

    /// Whether a storm throttles this call (and counts it down).
    pub fn storm_hit(&mut self, op: Operation) -> bool {
        match self.storms.get_mut(&op) {
            Some(n) if *n > 0 => {
                *n -= 1;
                if *n == 0 {
                    self.storms.remove(&op);
                }
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(has_page_token: bool) -> Call {
        Call::Operation(OpCall {
            op: Operation::SearchOrders,
            has_page_token,
        })
    }

    #[test]
    fn faults_are_taken_by_the_first_matching_call_in_order() {
        let mut f = Faults::default();
        f.push(Operation::GetOrder.into(), Fault::Throttle);
        f.push(FaultTarget::Any, Fault::ExpiredPageToken);
        f.push(FaultTarget::Any, Fault::DuplicatePage);
        f.push(FaultTarget::Any, Fault::status(503));
        f.push(FaultTarget::Lwa, Fault::Throttle);
        // A first page cannot be duplicated: the 503 is next for it.
        assert_eq!(f.take(search(false)), Some(Fault::status(503)));
        assert_eq!(f.take(search(true)), Some(Fault::ExpiredPageToken));
        assert_eq!(f.take(search(true)), Some(Fault::DuplicatePage));
        assert_eq!(f.take(search(true)), None);
        // Throttle does not apply to LWA.
        assert_eq!(f.take(Call::Lwa), None);
        assert_eq!(
            f.take(Call::Operation(OpCall {
                op: Operation::GetOrder,
                has_page_token: false
            })),
            Some(Fault::Throttle)
        );
        assert_eq!(f.pending(), 1);
    }

    #[test]
    fn storm_counts_down() {
        let mut f = Faults::default();
        f.start_storm(Operation::GetOrder, 2);
        assert!(f.storm_hit(Operation::GetOrder));
        assert!(!f.storm_hit(Operation::SearchOrders));
        assert!(f.storm_hit(Operation::GetOrder));
        assert!(!f.storm_hit(Operation::GetOrder));
    }

    #[test]
    fn targets_and_faults_round_trip_as_json() {
        let t: FaultTarget = serde_json::from_str("\"searchOrders\"").expect("target");
        assert_eq!(t, FaultTarget::Operation(Operation::SearchOrders));
        assert!(serde_json::from_str::<FaultTarget>("\"nope\"").is_err());
        let f: Fault = serde_json::from_str(r#"{"kind":"slow","millis":50}"#).expect("fault");
        assert_eq!(f, Fault::slow(Duration::from_millis(50)));
        assert!(Fault::status(404).validate().is_err());
    }
}
