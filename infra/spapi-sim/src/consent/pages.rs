//! Seller Central's consent pages: the ask, confirm and deny, and the
//! Appstore hop.

use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::types::{AMAZON_STATE_LIFETIME, AmazonState, IssuedCode, SolutionSpec};
use crate::clock::{Stamp, random_token};
use crate::state::{Inner, Shared};

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} - Seller Central (simulator)</title></head>\
         <body><header><p>Amazon Seller Central (SP-API simulator)</p></header>\
         <main><h1>{t}</h1>{body}</main></body></html>",
        t = escape(title)
    );
    let mut resp = (status, html).into_response();
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

pub(crate) fn error_page(code: &str, message: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "We could not authorize the application",
        &format!(
            "<p id=\"error-code\">Error code: {}</p><p id=\"error-message\">{}</p>",
            escape(code),
            escape(message)
        ),
    )
}

pub(crate) fn redirect(to: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(LOCATION, v);
    }
    resp
}

pub(crate) fn encode(value: &str) -> String {
    domain::onboarding::query_encode(value)
}

pub(crate) fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = base.to_string();
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (k, v) in pairs {
        url.push(sep);
        url.push_str(k);
        url.push('=');
        url.push_str(&encode(v));
        sep = '&';
    }
    url
}

pub(crate) type Pairs = Query<Vec<(String, String)>>;

pub(crate) fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// What the consent page needs, checked as Seller Central checks it.
pub(crate) struct ConsentAsk {
    solution: SolutionSpec,
    state: String,
    redirect_uri: String,
    beta: bool,
}

/// Seller Central's error code and message.
pub(crate) type Refused = (&'static str, &'static str);

pub(crate) fn check_ask(inner: &Inner, pairs: &[(String, String)]) -> Result<ConsentAsk, Refused> {
    let Some(application_id) = param(pairs, "application_id") else {
        return Err(("MD1000", "The application_id parameter is missing."));
    };
    let Some(solution) = inner.consent.solutions.get(application_id).cloned() else {
        return Err((
            "MD1000",
            "The application ID is not valid for this marketplace.",
        ));
    };
    let beta = param(pairs, "version") == Some("beta");
    if solution.draft && !beta {
        return Err((
            "MD9100",
            "This application is in draft status: authorise it with version=beta.",
        ));
    }
    let redirect_uri = match param(pairs, "redirect_uri") {
        Some(uri) if solution.redirect_uris.iter().any(|r| r == uri) => uri.to_string(),
        Some(_) => {
            return Err((
                "MD5101",
                "The redirect URI is not one of the application's registered redirect URIs.",
            ));
        }
        None => match solution.redirect_uris.first() {
            Some(first) => first.clone(),
            None => return Err(("MD5101", "The application has no redirect URI.")),
        },
    };
    let Some(state) = param(pairs, "state") else {
        return Err(("MD1000", "The state parameter is missing."));
    };
    Ok(ConsentAsk {
        solution,
        state: state.to_string(),
        redirect_uri,
        beta,
    })
}

pub(crate) fn consent_html(inner: &Inner, ask: &ConsentAsk) -> Response {
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        )
    };
    let mut fields = String::new();
    fields.push_str(&hidden("application_id", &ask.solution.application_id));
    fields.push_str(&hidden("state", &ask.state));
    fields.push_str(&hidden("redirect_uri", &ask.redirect_uri));
    if ask.beta {
        fields.push_str(&hidden("version", "beta"));
    }
    let who = match &inner.consent.signed_in {
        Some(seller) => {
            let store = inner
                .sellers
                .get(seller)
                .map(|s| s.store_name.clone())
                .unwrap_or_default();
            fields.push_str(&hidden("seller_id", seller));
            format!(
                "<p id=\"signed-in\">Signed in as {} ({})</p>",
                escape(&store),
                escape(seller)
            )
        }
        None => {
            let options: String = inner
                .sellers
                .iter()
                .map(|(id, s)| {
                    format!(
                        "<option value=\"{}\">{} ({})</option>",
                        escape(id),
                        escape(&s.store_name),
                        escape(id)
                    )
                })
                .collect();
            format!(
                "<label for=\"seller_id\">Sign in as</label> <select id=\"seller_id\" name=\"seller_id\">{options}</select>"
            )
        }
    };
    let body = format!(
        "<p id=\"app-name\">{name} would like to access your selling account.</p>{who}\
         <form method=\"post\" action=\"/apps/authorize/consent/confirm\">{fields}\
         <button id=\"confirm\" type=\"submit\">Confirm</button></form>\
         <form method=\"post\" action=\"/apps/authorize/consent/deny\">{deny}\
         <button id=\"deny\" type=\"submit\">Cancel</button></form>",
        name = escape(&ask.solution.name),
        deny = {
            let mut f = String::new();
            f.push_str(&hidden("application_id", &ask.solution.application_id));
            f.push_str(&hidden("state", &ask.state));
            f.push_str(&hidden("redirect_uri", &ask.redirect_uri));
            if ask.beta {
                f.push_str(&hidden("version", "beta"));
            }
            f
        }
    );
    page(StatusCode::OK, "Authorize application", &body)
}

pub(crate) async fn consent_page(
    State(shared): State<Arc<Shared>>,
    Query(pairs): Pairs,
) -> Response {
    let inner = shared.lock();
    match check_ask(&inner, &pairs) {
        Ok(ask) => consent_html(&inner, &ask),
        Err((code, message)) => error_page(code, message),
    }
}

pub(crate) type FormPairs = Result<Form<Vec<(String, String)>>, FormRejection>;

pub(crate) async fn confirm(State(shared): State<Arc<Shared>>, form: FormPairs) -> Response {
    let Ok(Form(pairs)) = form else {
        return error_page("MD1000", "The form could not be read.");
    };
    let mut inner = shared.lock();
    let ask = match check_ask(&inner, &pairs) {
        Ok(ask) => ask,
        Err((code, message)) => return error_page(code, message),
    };
    let Some(seller_id) = param(&pairs, "seller_id").map(str::to_string) else {
        return error_page("MD1000", "Nobody is signed in.");
    };
    if !inner.sellers.contains_key(&seller_id) {
        return error_page("MD1000", "Unknown selling account.");
    }
    let code = format!("ANsim{}", random_token(32));
    let issued = inner.stamp();
    inner.consent.codes.insert(
        code.clone(),
        IssuedCode {
            client_id: ask.solution.client_id.clone(),
            seller_id: seller_id.clone(),
            redirect_uri: ask.redirect_uri.clone(),
            issued,
            used: false,
        },
    );
    inner.consent.consents.push(seller_id.clone());
    tracing::info!(operation = "consent", seller = %seller_id, "the seller confirmed the consent");
    redirect(&with_query(
        &ask.redirect_uri,
        &[
            ("spapi_oauth_code", &code),
            ("state", &ask.state),
            ("selling_partner_id", &seller_id),
        ],
    ))
}

pub(crate) async fn deny(State(shared): State<Arc<Shared>>, form: FormPairs) -> Response {
    let Ok(Form(pairs)) = form else {
        return error_page("MD1000", "The form could not be read.");
    };
    let mut inner = shared.lock();
    let ask = match check_ask(&inner, &pairs) {
        Ok(ask) => ask,
        Err((code, message)) => return error_page(code, message),
    };
    inner.consent.denials += 1;
    tracing::info!(operation = "consent", "the seller denied the consent");
    redirect(&with_query(
        &ask.redirect_uri,
        &[
            ("error", "access_denied"),
            (
                "error_description",
                "The selling partner did not authorize the application.",
            ),
            ("state", &ask.state),
        ],
    ))
}

pub(crate) async fn appstore_start(
    State(shared): State<Arc<Shared>>,
    Query(pairs): Pairs,
    headers: HeaderMap,
) -> Response {
    let mut inner = shared.lock();
    let Some(application_id) = param(&pairs, "application_id").map(str::to_string) else {
        return error_page("MD1000", "The application_id parameter is missing.");
    };
    let Some(solution) = inner.consent.solutions.get(&application_id).cloned() else {
        return error_page("MD1000", "The application ID is not valid.");
    };
    let Some(login_uri) = solution.login_uri.clone() else {
        return error_page("MD1000", "The application has no login URI.");
    };
    let Some(seller_id) = inner.consent.signed_in.clone() else {
        return error_page("MD1000", "Sign in to Seller Central first.");
    };
    let amazon_state = format!("amzn-{}", random_token(24));
    let issued = inner.stamp();
    inner.consent.amazon_states.insert(
        amazon_state.clone(),
        AmazonState {
            application_id: application_id.clone(),
            seller_id: seller_id.clone(),
            issued,
            used: false,
        },
    );
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let callback = format!("http://{host}/apps/authorize/confirm/{application_id}");
    let mut pairs = vec![
        ("amazon_callback_uri", callback.as_str()),
        ("amazon_state", amazon_state.as_str()),
        ("selling_partner_id", seller_id.as_str()),
    ];
    if solution.draft {
        pairs.push(("version", "beta"));
    }
    redirect(&with_query(&login_uri, &pairs))
}

pub(crate) async fn appstore_return(
    State(shared): State<Arc<Shared>>,
    Path(application_id): Path<String>,
    Query(mut pairs): Pairs,
) -> Response {
    let speed = shared.speed;
    let mut inner = shared.lock();
    let Some(amazon_state) = param(&pairs, "amazon_state").map(str::to_string) else {
        return error_page("MD1000", "The amazon_state parameter is missing.");
    };
    let elapsed = |s: Stamp| inner.sim_elapsed(s, speed);
    let valid = inner
        .consent
        .amazon_states
        .get(&amazon_state)
        .is_some_and(|s| {
            !s.used
                && s.application_id == application_id
                && elapsed(s.issued) < AMAZON_STATE_LIFETIME
        });
    if !valid {
        return error_page("MD1000", "The amazon_state is invalid or expired.");
    }
    if let Some(s) = inner.consent.amazon_states.get_mut(&amazon_state) {
        s.used = true;
        let seller = s.seller_id.clone();
        inner.consent.signed_in = Some(seller);
    }
    pairs.push(("application_id".into(), application_id));
    match check_ask(&inner, &pairs) {
        Ok(ask) => consent_html(&inner, &ask),
        Err((code, message)) => error_page(code, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_show() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            with_query("https://x/cb", &[("state", "a b&c"), ("code", "1")]),
            "https://x/cb?state=a%20b%26c&code=1"
        );
        assert_eq!(
            with_query("https://x/cb?y=1", &[("a", "b")]),
            "https://x/cb?y=1&a=b"
        );
    }
}
