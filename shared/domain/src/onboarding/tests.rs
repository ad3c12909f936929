use super::*;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn m(id: &str) -> MarketplaceId {
    MarketplaceId::new(id).unwrap()
}

fn token() -> BearerToken {
    BearerToken::from_random(&[7u8; 32]).unwrap()
}

fn invitation(marketplaces: &[&str]) -> Invitation {
    Invitation::new(
        "inv1".into(),
        ClientCode::new("ACME").unwrap(),
        Region::Eu,
        marketplaces.iter().map(|x| m(x)).collect(),
        SettingsTemplate {
            order_prefix: "AC".into(),
            ..SettingsTemplate::default()
        },
        None,
        t("2026-12-01T10:00:00Z"),
        3,
    )
    .unwrap()
}

#[test]
fn tokens_are_url_safe_and_never_debug_printed() {
    let a = BearerToken::from_random(&[0xfb, 0xff, 0x01, 0x02]).err();
    assert!(a.is_some(), "fewer than 16 bytes are refused");
    let tok = BearerToken::from_random(&[0xfbu8; 16]).unwrap();
    assert_eq!(tok.expose().len(), 22);
    assert!(
        tok.expose()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(BearerToken::parse(tok.expose()).unwrap(), tok);
    assert!(!format!("{tok:?}").contains(tok.expose()));
    // RFC 4648 test vectors, URL alphabet, no padding.
    assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64url(b"fooba"), "Zm9vYmE");
    assert_eq!(base64url(b"foob"), "Zm9vYg");
    assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    for bad in [
        "short",
        "has space in it 0123456789",
        "semi;colon0123456789012345",
        &"x".repeat(200),
    ] {
        assert!(BearerToken::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn consent_urls_are_built_here_and_encoded() {
    let state = token();
    let url = consent_url(
        seller_central(Region::Eu, &[m("A1PA6795UKMFR9")]),
        "amzn1.sp.solution.abc",
        &state,
        "https://x.lambda-url.eu-west-1.on.aws/callback",
        true,
    );
    assert_eq!(
        url,
        format!(
            "https://sellercentral-europe.amazon.com/apps/authorize/consent?application_id=amzn1.sp.solution.abc&state={}&redirect_uri=https%3A%2F%2Fx.lambda-url.eu-west-1.on.aws%2Fcallback&version=beta",
            state.expose()
        )
    );
    assert_eq!(
        seller_central(Region::Na, &[]),
        "https://sellercentral.amazon.com"
    );
    assert_eq!(
        seller_central(Region::Fe, &[m("A39IBJ37TRP1C6")]),
        "https://sellercentral.amazon.com.au"
    );
    assert!(!consent_url("https://a", "b", &state, "c", false).contains("version"));
}

#[test]
fn the_appstore_return_goes_only_to_seller_central() {
    let state = token();
    let allowed = seller_central_origins();
    let ok = appstore_return_url(
        "https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.x",
        &allowed,
        "https://me/callback",
        "amz-state",
        &state,
        false,
    )
    .unwrap();
    assert!(ok.starts_with("https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.x?redirect_uri=https%3A%2F%2Fme%2Fcallback&amazon_state=amz-state&state="));
    for evil in [
        "https://evil.example/apps",
        "http://sellercentral.amazon.com/apps",
        "https://sellercentral.amazon.com.evil.example/x",
        "https://sellercentral.amazon.com@evil.example/x",
        "javascript:alert(1)",
        "//sellercentral.amazon.com/x",
        "https://sellercentral.amazon.com\n.evil/x",
    ] {
        assert!(
            appstore_return_url(evil, &allowed, "r", "s", &state, false).is_err(),
            "{evil}"
        );
    }
    assert!(
        appstore_return_url(
            "https://sellercentral.amazon.com/x",
            &allowed,
            "r",
            "",
            &state,
            false
        )
        .is_err(),
        "no amazon_state"
    );
    // A local simulator is allowed when it is the configured origin.
    assert!(
        appstore_return_url(
            "http://127.0.0.1:4000/apps/authorize/confirm?x=1",
            &["http://127.0.0.1:4000"],
            "r",
            "s",
            &state,
            true
        )
        .unwrap()
        .contains("?x=1&redirect_uri=r&amazon_state=s&state=")
    );
    assert_eq!(
        origin_of("HTTPS://SellerCentral.Amazon.com/x"),
        None,
        "scheme is case-sensitive here"
    );
    assert_eq!(
        origin_of("https://SellerCentral.Amazon.com/x?y#z").as_deref(),
        Some("https://sellercentral.amazon.com")
    );
}

#[test]
fn an_invitation_is_open_once_until_it_expires() {
    let mut inv = invitation(&["A1PA6795UKMFR9"]);
    assert!(inv.check_open(t("2026-12-04T09:59:59Z")).is_ok());
    assert_eq!(
        inv.check_open(t("2026-12-04T10:00:00Z")),
        Err(Refusal::Expired(t("2026-12-04T10:00:00Z")))
    );
    let seller = SellerId::new("A1SELLER").unwrap();
    inv.used = Some(InvitationUse {
        seller_id: seller.clone(),
        at: t("2026-12-02T00:00:00Z"),
    });
    assert_eq!(
        inv.check_open(t("2026-12-02T01:00:00Z")),
        Err(Refusal::Used(seller))
    );
    let too_long = Invitation::new(
        "x".into(),
        ClientCode::new("ACME").unwrap(),
        Region::Eu,
        vec![],
        SettingsTemplate::default(),
        None,
        t("2026-12-01T00:00:00Z"),
        30,
    );
    assert!(too_long.unwrap_err().to_string().contains("1 to 7 days"));
    let wrong_region = Invitation::new(
        "x".into(),
        ClientCode::new("ACME").unwrap(),
        Region::Na,
        vec![m("A1PA6795UKMFR9")],
        SettingsTemplate::default(),
        None,
        t("2026-12-01T00:00:00Z"),
        3,
    );
    assert!(wrong_region.unwrap_err().to_string().contains("region"));
    let bad_prefix = Invitation::new(
        "x".into(),
        ClientCode::new("ACME").unwrap(),
        Region::Eu,
        vec![],
        SettingsTemplate {
            order_prefix: "A-B".into(),
            ..SettingsTemplate::default()
        },
        None,
        t("2026-12-01T00:00:00Z"),
        3,
    );
    assert!(bad_prefix.unwrap_err().to_string().contains("prefix"));
}

#[test]
fn marketplaces_are_confirmed_from_amazons_answer() {
    let answer = vec![
        Participation {
            marketplace_id: "A1PA6795UKMFR9".into(),
            participating: true,
        },
        Participation {
            marketplace_id: "A13V1IB3VIYZZH".into(),
            participating: false,
        },
        Participation {
            marketplace_id: "ATVPDKIKX0DER".into(),
            participating: true,
        },
    ];
    let c = invitation(&["A1PA6795UKMFR9", "A13V1IB3VIYZZH"])
        .confirm_marketplaces(&answer)
        .unwrap();
    assert_eq!(c.confirmed, vec![m("A1PA6795UKMFR9")]);
    assert_eq!(c.missing, vec![m("A13V1IB3VIYZZH")]);
    // None invited: every one of the region the seller sells in.
    let all = invitation(&[]).confirm_marketplaces(&answer).unwrap();
    assert_eq!(all.confirmed, vec![m("A1PA6795UKMFR9")]);
    assert_eq!(
        invitation(&["A13V1IB3VIYZZH"]).confirm_marketplaces(&answer),
        Err(Refusal::NoMarketplace { region: Region::Eu })
    );
}

#[test]
fn a_consent_creates_or_renews_the_sellers_settings() {
    let inv = invitation(&["A1PA6795UKMFR9"]);
    let now = t("2026-12-02T12:00:00Z");
    let seller = SellerId::new("A1SELLER").unwrap();
    let new = inv
        .apply(&seller, None, vec![m("A1PA6795UKMFR9")], "sec".into(), now)
        .unwrap();
    assert_eq!(new.order_prefix, "AC");
    assert_eq!(
        new.order_start_date,
        now.date_naive(),
        "connect day by default"
    );
    assert_eq!(new.authorized_at, Some(now));
    assert_eq!(new.refresh_token_secret, "sec");
    assert!(new.validate().is_ok());

    let mut old = new.clone();
    old.order_prefix = "TUNED".into();
    old.authorization = Authorization::Broken {
        reason: "invalid_grant".into(),
        since: now,
    };
    let later = t("2027-11-20T00:00:00Z");
    let renewed = inv
        .apply(
            &seller,
            Some(old),
            vec![m("A1PA6795UKMFR9")],
            "sec2".into(),
            later,
        )
        .unwrap();
    assert_eq!(
        renewed.order_prefix, "TUNED",
        "the operator's settings are kept"
    );
    assert_eq!(renewed.authorization, Authorization::Active);
    assert_eq!(renewed.authorized_at, Some(later));

    let mut other = new.clone();
    other.client_code = ClientCode::new("OTHER").unwrap();
    assert!(matches!(
        inv.apply(&seller, Some(other), vec![], "s".into(), now),
        Err(Refusal::OtherClient { .. })
    ));
    let mut reauth = inv.clone();
    reauth.seller_id = Some(SellerId::new("A1SOMEONEELSE").unwrap());
    assert!(matches!(
        reauth.apply(&seller, None, vec![], "s".into(), now),
        Err(Refusal::WrongAccount { .. })
    ));
}

#[test]
fn renewal_is_a_year_after_the_consent() {
    let at = t("2026-01-10T00:00:00Z");
    assert_eq!(renewal_due(at), t("2027-01-10T00:00:00Z"));
    assert_eq!(days_until_renewal(at, t("2026-12-11T00:00:00Z")), 30);
    assert_eq!(days_until_renewal(at, t("2027-01-11T00:00:00Z")), -1);
}
