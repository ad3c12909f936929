//! The pages: small server-rendered HTML, readable on a phone, every value
//! escaped, one inline style allowed by its hash and nothing else (no
//! script, no image, no frame), forms posting only to this function (and
//! the Seller Central origin its redirect goes to: Chrome applies
//! `form-action` to a form's redirects too). No secret is ever in a page;
//! the invitation code is, only on the page its own link opened.

use std::sync::LazyLock;

use base64::Engine;
use chrono::{DateTime, Utc};
use domain::MarketplaceId;
use domain::onboarding::{BearerToken, Invitation};
use domain::region::known_marketplace;
use sha2::{Digest, Sha256};

use crate::error::OnboardingError;
use crate::http::Response;

/// Who the seller is dealing with (template parameters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branding {
    /// The 3PL's name (`OperatorName`).
    pub operator: String,
    /// How to reach it (`OperatorContact`: an e-mail address or a URL), if given.
    pub contact: Option<String>,
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '`' => out.push_str("&#96;"),
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1a1a1a;background:#f5f5f4;line-height:1.5}\
main{max-width:34rem;margin:0 auto;padding:1.5rem 1rem 3rem}\
header{background:#232f3e;color:#fff;padding:.75rem 1rem;font-weight:600}\
h1{font-size:1.45rem;line-height:1.25;margin:.5rem 0 1rem}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}\
.card{background:#fff;border:1px solid #d6d3d1;border-radius:.5rem;padding:1rem 1.25rem}\
ul{padding-left:1.25rem}li{margin:.25rem 0}\
button{display:block;width:100%;font-size:1.1rem;padding:.85rem 1rem;margin-top:1.25rem;border:0;border-radius:.5rem;background:#ff9900;color:#111;font-weight:700;cursor:pointer}\
button:focus{outline:3px solid #0b57d0;outline-offset:2px}\
label{display:block;font-weight:600;margin-top:1rem}\
input[type=text]{box-sizing:border-box;width:100%;font-size:1.05rem;padding:.6rem;border:1px solid #78716c;border-radius:.4rem;margin-top:.25rem}\
.ok{border-left:6px solid #15803d}.fail{border-left:6px solid #b91c1c}\
.small{font-size:.9rem;color:#44403c}code{font-size:.95rem;word-break:break-all}";

/// `'sha256-...'` of [`STYLE`], the only style the pages may use.
static STYLE_HASH: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(STYLE.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
});

/// The Content-Security-Policy of a page whose forms may post to this
/// function and be redirected to `form_targets` (origins).
pub fn csp(form_targets: &[&str]) -> String {
    let forms = if form_targets.is_empty() {
        "'none'".to_string()
    } else {
        let mut v = vec!["'self'".to_string()];
        v.extend(form_targets.iter().map(|t| t.to_string()));
        v.join(" ")
    };
    format!(
        "default-src 'none'; style-src {}; img-src 'none'; script-src 'none'; form-action {forms}; frame-ancestors 'none'; base-uri 'none'",
        STYLE_HASH.as_str()
    )
}

fn layout(operator: &str, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex, nofollow\">\
         <title>{title} | {op}</title><style>{STYLE}</style></head>\
         <body><header>{op}</header><main>{body}</main></body></html>",
        title = escape(title),
        op = escape(operator),
    )
}

fn contact_line(b: &Branding) -> String {
    match &b.contact {
        Some(c) => format!(" ({})", escape(c)),
        None => String::new(),
    }
}

fn marketplace_names(ids: &[MarketplaceId]) -> String {
    ids.iter()
        .map(|m| match known_marketplace(m) {
            Some(k) => format!("Amazon {} ({})", k.country, m),
            None => m.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn date(t: DateTime<Utc>) -> String {
    t.format("%-d %B %Y, %H:%M UTC").to_string()
}

/// `/`: what this is, for someone who came without a link.
pub fn start(b: &Branding) -> Response {
    let body = format!(
        "<h1>Connect an Amazon seller account to {op}</h1><div class=\"card\">\
         <p>This page connects your Amazon seller account to {op}'s warehouse system.</p>\
         <p>Open the link from the invitation {op} sent you{contact}. You will need it to continue.</p></div>",
        op = escape(&b.operator),
        contact = contact_line(b)
    );
    Response::html(
        200,
        csp(&[]),
        layout(&b.operator, "Connect your Amazon account", &body),
    )
}

/// The landing page of an invitation: who asks, what access it gets, one
/// button.
pub fn landing(
    b: &Branding,
    invitation: &Invitation,
    code: &BearerToken,
    consent_origin: &str,
) -> Response {
    let op = escape(&b.operator);
    let jobs = invitation.settings.jobs;
    let mut can = Vec::new();
    if jobs.orders {
        can.push("see your new seller-fulfilled orders, with the buyer's shipping address, so the warehouse can pack and ship them");
    }
    if jobs.shipments {
        can.push("confirm your shipments to Amazon with the carrier and tracking number");
    }
    if jobs.inventory {
        can.push("update the stock quantities of your listings from the warehouse's stock");
    }
    if jobs.labels {
        can.push("buy Amazon Shipping labels for your orders");
    }
    let can: String = can
        .iter()
        .map(|c| format!("<li>{}</li>", escape(c)))
        .collect();
    let markets = if invitation.marketplaces.is_empty() {
        format!(
            "every {} marketplace you sell in",
            escape(invitation.region.as_str())
        )
    } else {
        escape(&marketplace_names(&invitation.marketplaces))
    };
    let renewal = if invitation.seller_id.is_some() {
        "<p>This renews the access you gave before: Amazon asks for it once a year.</p>"
    } else {
        ""
    };
    let body = format!(
        "<h1>Connect your Amazon seller account to {op}</h1>\
         <div class=\"card\"><p>{op} fulfils your Amazon orders (client <strong>{client}</strong>) and asks for access to your seller account in {markets}.</p>{renewal}\
         <h2>What {op} will be able to do</h2><ul>{can}</ul>\
         <h2>What it cannot do</h2><ul><li>see your password, your payments or your bank details</li>\
         <li>keep access after you remove it: you can remove it any time in Seller Central, under Apps and Services, Manage Your Apps</li></ul>\
         <p class=\"small\">You will sign in on Amazon's own Seller Central page and confirm there. \
         This link works once and until {until}.</p>\
         <form method=\"post\" action=\"/connect\"><input type=\"hidden\" name=\"invitation\" value=\"{code}\">\
         <button type=\"submit\" id=\"connect\">Connect Amazon account</button></form></div>",
        client = escape(invitation.client_code.as_str()),
        until = escape(&date(invitation.expires_at)),
        code = escape(code.expose()),
    );
    Response::html(
        200,
        csp(&[consent_origin]),
        layout(&b.operator, "Connect your Amazon account", &body),
    )
}

/// The Appstore variant's login page: Amazon sent the seller here; the
/// seller enters the invitation code from the operator.
pub fn appstore_login(
    b: &Branding,
    amazon_callback_uri: &str,
    amazon_state: &str,
    callback_origin: &str,
    error: Option<&str>,
) -> Response {
    let op = escape(&b.operator);
    let error = error
        .map(|e| {
            format!(
                "<p class=\"card fail\" role=\"alert\" id=\"error\">{}</p>",
                escape(e)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Connect your Amazon seller account to {op}</h1>{error}\
         <div class=\"card\"><p>You came here from the Amazon Appstore. To connect your account, enter the invitation code {op} sent you{contact}.</p>\
         <form method=\"post\" action=\"/login\">\
         <input type=\"hidden\" name=\"amazon_callback_uri\" value=\"{cb}\">\
         <input type=\"hidden\" name=\"amazon_state\" value=\"{st}\">\
         <label for=\"invitation\">Invitation code</label>\
         <input type=\"text\" id=\"invitation\" name=\"invitation\" autocomplete=\"off\" autocapitalize=\"none\" spellcheck=\"false\" required>\
         <button type=\"submit\" id=\"continue\">Continue to Amazon</button></form></div>",
        contact = contact_line(b),
        cb = escape(amazon_callback_uri),
        st = escape(amazon_state),
    );
    Response::html(
        if error.is_empty() { 200 } else { 400 },
        csp(&[callback_origin]),
        layout(&b.operator, "Connect your Amazon account", &body),
    )
}

/// What a successful consent did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connected {
    pub seller_id: domain::SellerId,
    pub marketplaces: Vec<MarketplaceId>,
    /// Invited marketplaces the seller does not sell in.
    pub missing: Vec<MarketplaceId>,
    /// The seller was connected before (a renewal or re-authorisation).
    pub renewed: bool,
    pub renewal_due: DateTime<Utc>,
}

pub fn success(b: &Branding, c: &Connected) -> Response {
    let op = escape(&b.operator);
    let what = if c.renewed {
        format!("Your authorisation for {op} is renewed.")
    } else {
        format!("Your Amazon seller account is connected to {op}.")
    };
    let missing = if c.missing.is_empty() {
        String::new()
    } else {
        format!(
            "<p>Your account does not sell in {}: those are left out. Tell {op}{} if that is not right.</p>",
            escape(&marketplace_names(&c.missing)),
            contact_line(b)
        )
    };
    let body = format!(
        "<h1 id=\"result\">Connected</h1><div class=\"card ok\"><p>{what}</p>\
         <p>Seller ID: <code id=\"seller-id\">{seller}</code><br>Marketplaces: {markets}</p>{missing}\
         <p>Amazon asks you to renew this access once a year; {op} will send you a new link before {due}.</p>\
         <p class=\"small\">You can close this page.</p></div>",
        seller = escape(c.seller_id.as_str()),
        markets = escape(&marketplace_names(&c.marketplaces)),
        due = escape(&date(c.renewal_due)),
    );
    Response::html(200, csp(&[]), layout(&b.operator, "Connected", &body))
}

/// The page of a failure: what happened, what to do.
pub fn failure(b: &Branding, e: &OnboardingError) -> Response {
    let op = escape(&b.operator);
    let contact = format!("{op}{}", contact_line(b));
    let (title, what, todo) = match e {
        OnboardingError::BadRequest(_) => (
            "This link is incomplete".to_string(),
            "The page was opened with missing or malformed information.".to_string(),
            format!("Open the link from your invitation again, exactly as {op} sent it."),
        ),
        OnboardingError::NotFound => (
            "Page not found".to_string(),
            "There is no page at this address.".to_string(),
            format!("Open the link from the invitation {op} sent you."),
        ),
        OnboardingError::MethodNotAllowed => (
            "Not allowed".to_string(),
            "This page cannot be used that way.".to_string(),
            "Open the link from your invitation again.".to_string(),
        ),
        OnboardingError::UnknownInvitation => (
            "This invitation is not valid".to_string(),
            "We do not know this invitation code.".to_string(),
            format!("Check that you opened the whole link (or typed the code exactly), or ask {contact} for a new invitation."),
        ),
        OnboardingError::InvitationExpired { at, .. } => (
            "This invitation has expired".to_string(),
            format!("The invitation was valid until {}.", escape(&date(*at))),
            format!("Ask {contact} for a new invitation."),
        ),
        OnboardingError::InvitationUsed { .. } => (
            "This invitation was already used".to_string(),
            "An Amazon account was already connected with this invitation.".to_string(),
            format!("If that was you, there is nothing more to do. Otherwise ask {contact} for a new invitation."),
        ),
        OnboardingError::Denied => (
            "You did not give access".to_string(),
            format!("You cancelled on Amazon's page, so {op} has no access to your account."),
            "If that was a mistake, open the link from your invitation again and choose Confirm on Amazon's page.".to_string(),
        ),
        OnboardingError::AmazonError { description, .. } => (
            "Amazon did not complete the authorisation".to_string(),
            if description.is_empty() {
                "Amazon reported a problem.".to_string()
            } else {
                format!("Amazon reported: {}", escape(description))
            },
            format!("Open the link from your invitation again. If it happens again, tell {contact}."),
        ),
        OnboardingError::UnknownState => (
            "This sign-in was already used".to_string(),
            "Amazon's answer does not match a sign-in started here, or it was already used (for example after going back or reloading).".to_string(),
            "Open the link from your invitation again and start over.".to_string(),
        ),
        OnboardingError::StateExpired => (
            "The sign-in took too long".to_string(),
            "More than 30 minutes passed between leaving this page and Amazon's answer.".to_string(),
            "Open the link from your invitation again and start over.".to_string(),
        ),
        OnboardingError::CodeRefused(_) => (
            "Amazon did not accept the authorisation".to_string(),
            "Amazon's authorisation expired or was already used before we could complete it.".to_string(),
            "Open the link from your invitation again and start over.".to_string(),
        ),
        OnboardingError::WrongAccount { expected, .. } => (
            "A different Amazon account signed in".to_string(),
            format!(
                "This invitation renews the access of seller account {}, but another account signed in on Amazon.",
                escape(expected.as_str())
            ),
            format!("Sign out of Seller Central, open the link from your invitation again and sign in with that account, or ask {contact}."),
        ),
        OnboardingError::OtherClient { .. } => (
            "This account is already connected".to_string(),
            format!("This Amazon account is already connected to {op} under another client."),
            format!("Nothing was changed. Please contact {contact}."),
        ),
        OnboardingError::NoMarketplace { .. } => (
            "Your account does not sell where expected".to_string(),
            "Your Amazon account does not sell in any of the marketplaces of this invitation.".to_string(),
            format!("Nothing was changed. Please contact {contact} so they can send the right invitation."),
        ),
        OnboardingError::AmazonRefused(_) => (
            "Amazon refused the connection".to_string(),
            "Amazon did not let us check your account with the access you gave.".to_string(),
            format!("Nothing was changed. Please contact {contact}."),
        ),
        OnboardingError::BadCallback => (
            "This request did not come from Amazon".to_string(),
            "The Amazon address in this request is not one of Amazon's Seller Central pages.".to_string(),
            "Start again from the Amazon Appstore, or open the link from your invitation.".to_string(),
        ),
        OnboardingError::Store(_)
        | OnboardingError::Secrets(_)
        | OnboardingError::SpApi(_)
        | OnboardingError::Internal(_) => (
            "Something went wrong on our side".to_string(),
            "We could not complete the connection just now.".to_string(),
            format!("Try again in a few minutes from the link in your invitation. If it keeps happening, tell {contact}."),
        ),
    };
    let body = format!(
        "<h1 id=\"result\">{t}</h1><div class=\"card fail\" role=\"alert\"><p id=\"what\">{what}</p><p id=\"todo\">{todo}</p>\
         <p class=\"small\">Reference: <code id=\"reason\">{reason}</code></p></div>",
        t = escape(&title),
        reason = e.reason(),
    );
    Response::html(e.status(), csp(&[]), layout(&b.operator, &title, &body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::onboarding::SettingsTemplate;
    use domain::{ClientCode, Region};

    fn branding(name: &str) -> Branding {
        Branding {
            operator: name.into(),
            contact: Some("help@3pl.example".into()),
        }
    }

    #[test]
    fn escaping_covers_markup_attributes_and_controls() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\" `t`\u{0007}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; &#96;t&#96;"
        );
    }

    #[test]
    fn the_csp_allows_only_the_hashed_style_and_the_given_form_targets() {
        let c = csp(&["https://sellercentral-europe.amazon.com"]);
        assert!(c.contains("default-src 'none'"));
        assert!(c.contains("script-src 'none'"));
        assert!(c.contains("form-action 'self' https://sellercentral-europe.amazon.com;"));
        assert!(c.contains("frame-ancestors 'none'"));
        let hash = STYLE_HASH.as_str();
        assert!(c.contains(&format!("style-src {hash};")));
        assert!(hash.starts_with("'sha256-") && hash.len() == 53, "{hash}");
        assert!(csp(&[]).contains("form-action 'none'"));
    }

    #[test]
    fn the_operators_name_and_amazons_text_are_escaped_everywhere() {
        let b = branding("Evil <script>alert(1)</script> Ltd");
        let inv = Invitation::new(
            "id1".into(),
            ClientCode::new("ACME").unwrap(),
            Region::Eu,
            vec![MarketplaceId::new("A1PA6795UKMFR9").unwrap()],
            SettingsTemplate::default(),
            None,
            "2026-12-01T00:00:00Z".parse().unwrap(),
            3,
        )
        .unwrap();
        let code = BearerToken::from_random(&[9u8; 16]).unwrap();
        let pages = [
            start(&b),
            landing(&b, &inv, &code, "https://sellercentral-europe.amazon.com"),
            appstore_login(
                &b,
                "https://sellercentral.amazon.com/x?a=\"><script>",
                "s\"<",
                "https://sellercentral.amazon.com",
                Some("<b>bad</b>"),
            ),
            failure(
                &b,
                &OnboardingError::AmazonError {
                    error: "server_error".into(),
                    description: "<img src=x onerror=alert(1)>".into(),
                },
            ),
        ];
        for p in pages {
            assert!(!p.body.contains("<script>"), "{}", p.body);
            assert!(!p.body.contains("<img"), "{}", p.body);
            assert!(!p.body.contains("<b>bad"), "{}", p.body);
            assert!(p.body.contains("Evil &lt;script&gt;"));
            assert!(p.body.contains("name=\"viewport\""), "readable on a phone");
        }
        let page = landing(
            &branding("3PL"),
            &inv,
            &code,
            "https://sellercentral-europe.amazon.com",
        );
        assert!(page.body.contains("Amazon DE (A1PA6795UKMFR9)"));
        assert!(
            page.body.contains(code.expose()),
            "the form carries the code"
        );
        assert!(page.body.contains("Connect Amazon account"));
    }

    #[test]
    fn every_failure_says_what_happened_and_what_to_do() {
        let b = branding("3PL");
        let seller = domain::SellerId::new("A1SELLER").unwrap();
        let all = vec![
            OnboardingError::BadRequest("x".into()),
            OnboardingError::NotFound,
            OnboardingError::MethodNotAllowed,
            OnboardingError::UnknownInvitation,
            OnboardingError::InvitationExpired {
                id: "i".into(),
                at: Utc::now(),
            },
            OnboardingError::InvitationUsed {
                id: "i".into(),
                seller: seller.clone(),
            },
            OnboardingError::Denied,
            OnboardingError::AmazonError {
                error: "e".into(),
                description: String::new(),
            },
            OnboardingError::UnknownState,
            OnboardingError::StateExpired,
            OnboardingError::WrongAccount {
                id: "i".into(),
                expected: seller.clone(),
                got: seller.clone(),
            },
            OnboardingError::OtherClient {
                seller: seller.clone(),
            },
            OnboardingError::NoMarketplace { region: Region::Eu },
            OnboardingError::BadCallback,
            OnboardingError::Internal("x".into()),
        ];
        for e in all {
            let p = failure(&b, &e);
            assert!(p.status >= 400, "{e}");
            assert!(p.body.contains("id=\"what\"") && p.body.contains("id=\"todo\""));
            assert!(p.body.contains(e.reason()));
            assert!(!p.body.contains("invitation i "), "no internal ids");
        }
    }
}
