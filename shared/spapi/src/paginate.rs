//! Pagination as a lazy stream: a page is fetched only when the previous one
//! has been consumed. A token Amazon already gave (a loop) or more pages than
//! the cap stops the stream with an error instead of reading forever.

use std::collections::HashSet;

use domain::Deadline;
use futures::Stream;
use futures::stream::try_unfold;

use crate::SpApiError;
use crate::call::Call;
use crate::client::{SellerContext, SpApi};

/// A [`Call`] whose answer may continue on a next page.
pub trait PagedCall: Call + Sized {
    /// The token for the next page, if any.
    fn next_token(output: &Self::Output) -> Option<String>;
    /// The same request asking for the page behind `token`.
    fn with_token(&self, token: String) -> Self;
    /// The token this request continues from, if any.
    fn token(&self) -> Option<&str>;
}

/// One page and where it sits: `token` is what fetched it (None for the
/// first page), `next_token` what continues after it. A caller that stops
/// early stores `next_token` (or `token` to re-read the page) to resume.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub number: usize,
    pub token: Option<String>,
    pub next_token: Option<String>,
    pub output: T,
}

struct State<'a, C> {
    api: &'a SpApi,
    seller: &'a SellerContext,
    deadline: &'a Deadline,
    next: Option<C>,
    seen: HashSet<String>,
    number: usize,
}

impl SpApi {
    /// Every page of `first` and its successors, lazily.
    pub fn pages<'a, C: PagedCall + 'a>(
        &'a self,
        seller: &'a SellerContext,
        first: C,
        deadline: &'a Deadline,
    ) -> impl Stream<Item = Result<Page<C::Output>, SpApiError>> + 'a {
        let mut seen = HashSet::new();
        if let Some(t) = first.token() {
            seen.insert(t.to_string());
        }
        let state = State {
            api: self,
            seller,
            deadline,
            next: Some(first),
            seen,
            number: 0,
        };
        try_unfold(state, |mut state| async move {
            let Some(call) = state.next.take() else {
                return Ok(None);
            };
            let cap = state.api.config().page_cap;
            if state.number >= cap {
                return Err(SpApiError::PageCap {
                    operation: C::OPERATION,
                    cap,
                });
            }
            let output = state.api.call(state.seller, &call, state.deadline).await?;
            state.number += 1;
            let next_token = C::next_token(&output).filter(|t| !t.is_empty());
            if let Some(token) = &next_token {
                if !state.seen.insert(token.clone()) {
                    return Err(SpApiError::PaginationLoop {
                        operation: C::OPERATION,
                        page: state.number,
                    });
                }
                state.next = Some(call.with_token(token.clone()));
            }
            let page = Page {
                number: state.number,
                token: call.token().map(str::to_string),
                next_token,
                output,
            };
            Ok(Some((page, state)))
        })
    }
}
