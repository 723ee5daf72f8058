//! GitHub's OAuth web flow, as an app that the user already authorized sees it: the authorize
//! page sends the browser straight back to `redirect_uri` with a single-use code, and the code
//! is exchanged for the double's token, which `GET /user` (also under GitHub Enterprise's
//! `/api/v3`) accepts as the model's viewer. Enough for sign-in tests in a real browser.

use crate::api::{now_epoch, RequestInfo};
use crate::model::OrgModel;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// The token handed out when the model requires none.
pub const DEFAULT_ACCESS_TOKEN: &str = "gho_double_access_token";

/// Codes issued by the authorize page and not yet exchanged.
#[derive(Default)]
pub(crate) struct OAuthCodes {
    issued: BTreeSet<String>,
    next: u64,
}

pub(crate) struct OAuthReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Answers `/login/oauth/authorize` and `/login/oauth/access_token`; None for other paths.
pub(crate) fn answer(
    codes: &mut OAuthCodes,
    model: &OrgModel,
    req: &RequestInfo,
    params: &BTreeMap<String, String>,
) -> Option<OAuthReply> {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/login/oauth/authorize") => Some(authorize(codes, model, params)),
        ("POST", "/login/oauth/access_token") => Some(access_token(codes, model, params)),
        _ => None,
    }
}

fn authorize(
    codes: &mut OAuthCodes,
    model: &OrgModel,
    params: &BTreeMap<String, String>,
) -> OAuthReply {
    let Some(redirect) = params.get("redirect_uri").filter(|r| !r.is_empty()) else {
        return OAuthReply {
            status: 400,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: b"redirect_uri is required".to_vec(),
        };
    };
    let mut pairs = Vec::new();
    if model.viewer().is_some() {
        codes.next += 1;
        let code = format!("double-code-{}-{}", now_epoch(), codes.next);
        codes.issued.insert(code.clone());
        pairs.push(("code", code));
    } else {
        pairs.push(("error", "access_denied".to_string()));
    }
    if let Some(state) = params.get("state") {
        pairs.push(("state", state.clone()));
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect();
    let separator = if redirect.contains('?') { '&' } else { '?' };
    OAuthReply {
        status: 302,
        headers: vec![(
            "location".into(),
            format!("{redirect}{separator}{}", query.join("&")),
        )],
        body: Vec::new(),
    }
}

fn access_token(
    codes: &mut OAuthCodes,
    model: &OrgModel,
    params: &BTreeMap<String, String>,
) -> OAuthReply {
    // GitHub answers a bad code with 200 and an `error` field.
    let body = match params.get("code") {
        Some(code) if codes.issued.remove(code) => json!({
            "access_token": model.token.clone().unwrap_or_else(|| DEFAULT_ACCESS_TOKEN.to_string()),
            "token_type": "bearer",
            "scope": params.get("scope").cloned().unwrap_or_else(|| "read:user".to_string()),
        }),
        _ => json!({
            "error": "bad_verification_code",
            "error_description": "The code passed is incorrect or expired.",
        }),
    };
    OAuthReply {
        status: 200,
        headers: vec![(
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        )],
        body: body.to_string().into_bytes(),
    }
}
