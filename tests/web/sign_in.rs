//! Signing in through the sign-in page: GitHub's pop-up flow against the GitHub double (a
//! refusal, then a real sign-in), the header showing who is signed in, a reload restoring the
//! session from its cookie, sign-out, and the guest; plus what the page shows when sign-in
//! cannot reach the server.

use crate::browse::{assert_accessible, wait_h1};
use crate::browser::{browser_available, Browser};
use crate::fixture::{Fixture, GITHUB_NAME};
use portico_github_double::UserModel;
use portico_test_support::TestDb;
use serde_json::json;

/// Waits for the header to name `who`.
async fn wait_identity(b: &Browser, who: &str) {
    b.wait_until(
        &format!("the header to name {who}"),
        &format!(
            "const e = document.querySelector('[data-testid=identity]'); return !!e && e.textContent.includes({});",
            json!(who)
        ),
    )
    .await;
}

async fn window_count(b: &Browser) -> usize {
    b.client.windows().await.expect("window handles").len()
}

#[actix_web::test]
async fn sign_in_with_github_in_a_popup_and_sign_out() {
    if !browser_available() {
        return;
    }
    // 100 generated entities include user:default/user-1, whom the GitHub account resolves to.
    let (fixture, _) = Fixture::with_github(TestDb::sqlite(), 100).await;
    let app = &fixture.app;
    let github = fixture.github.as_ref().expect("the GitHub double");
    let b = Browser::start().await;
    b.desktop().await;

    // A shared link, before signing in: the sign-in page stands in for it.
    b.goto(&app.url("/catalog?kind=component")).await;
    wait_h1(&b, "Sign in to Portico").await;
    let providers = b
        .js(
            "return [...document.querySelectorAll('button[data-provider]')].map(e => e.dataset.provider + ': ' + e.textContent);",
            vec![],
        )
        .await;
    assert_eq!(
        providers,
        json!(["guest: Enter as guest", "github: Sign in with GitHub"])
    );
    wait_identity(&b, "Not signed in").await;
    b.screenshot("sign-in-desktop").await;
    assert_accessible(&b, "the sign-in page").await;

    // A GitHub account that is not in the catalog: the pop-up's error, shown plainly.
    github.add_user(UserModel::new("stranger").name("Stranger"));
    github.with_model(|m| m.authenticated_user = Some("stranger".into()));
    b.click("button[data-provider=github]").await;
    b.wait_until(
        "the refusal",
        "const e = document.querySelector('[data-testid=sign-in-status] .state--error'); return !!e && e.textContent.includes('GitHub sign-in failed');",
    )
    .await;
    let refusal = b.text("[data-testid=sign-in-status]").await;
    assert!(refusal.to_lowercase().contains("user"), "{refusal}");
    b.wait_until(
        "the buttons again",
        "return !document.querySelector('button[data-provider=github]').disabled;",
    )
    .await;
    b.screenshot("sign-in-refused-desktop").await;

    // The catalog's user: the pop-up goes to GitHub and back to the handler frame, which
    // posts the result to the app and closes.
    github.with_model(|m| m.authenticated_user = Some(crate::fixture::GITHUB_LOGIN.into()));
    github.reset_stats();
    b.click("button[data-provider=github]").await;
    wait_identity(&b, &format!("Signed in as {GITHUB_NAME}")).await;
    // Then the page that was asked for.
    wait_h1(&b, "Catalog").await;
    assert_eq!(b.path_and_query().await, "/catalog?kind=component");
    b.find("[data-testid=catalog-table] tbody tr").await;
    let stats = github.stats();
    assert_eq!(stats.to_path("/login/oauth/authorize"), 1, "{stats:?}");
    assert_eq!(stats.to_path("/login/oauth/access_token"), 1, "{stats:?}");
    assert_eq!(stats.to_path("/api/v3/user"), 1, "{stats:?}");
    // The pop-up closed itself.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while window_count(&b).await > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the sign-in pop-up stayed open"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        b.js(
            "return document.querySelector('a[data-testid=identity]').getAttribute('href');",
            vec![]
        )
        .await,
        json!("/catalog/default/user/user-1")
    );
    b.screenshot("signed-in-github-desktop").await;

    // API calls carry the GitHub identity: "owned by me" is user-1's group's.
    let (_, user) = app
        .get("/api/catalog/entities/by-name/user/default/user-1")
        .await;
    let group = user["relations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "memberOf")
        .map(|r| r["targetRef"].as_str().unwrap().to_string())
        .expect("user-1 is in a group");
    b.goto(&app.url("/catalog?owned=mine")).await;
    wait_identity(&b, GITHUB_NAME).await;
    let (_, owned) = app
        .get(&format!(
            "/api/catalog/entities/by-query?limit=1&filter=relations.ownedBy={group}"
        ))
        .await;
    let expected = owned["totalItems"].as_u64().unwrap();
    assert!(expected > 0);
    b.wait_until(
        "user-1's entities",
        &format!("const s = document.querySelector('.results-summary'); return !!s && s.dataset.total === '{expected}';"),
    )
    .await;

    // A reload signs in silently from the session cookie: no sign-in page.
    b.goto(&app.url("/register")).await;
    wait_identity(&b, GITHUB_NAME).await;
    wait_h1(&b, "Register an existing component").await;
    b.screenshot("register-signed-in-github-desktop").await;

    // Sign out: back to the sign-in page, the session is gone on the server too, and a
    // reload stays signed out.
    b.click("[data-testid=sign-out]").await;
    wait_h1(&b, "Sign in to Portico").await;
    wait_identity(&b, "Not signed in").await;
    assert_eq!(b.path_and_query().await, "/register");
    let status = b
        .client
        .execute_async(
            "const done = arguments[0]; fetch('/api/auth/github/refresh', {headers: {'X-Requested-With': 'XMLHttpRequest'}}).then(r => done(r.status));",
            vec![],
        )
        .await
        .expect("refresh after sign-out");
    assert_eq!(status, json!(401), "the refresh session ended");
    b.goto(&app.url("/catalog")).await;
    wait_h1(&b, "Sign in to Portico").await;

    // The guest, from the same page.
    b.click("button[data-provider=guest]").await;
    wait_identity(&b, "Signed in as Guest").await;
    wait_h1(&b, "Catalog").await;

    b.phone().await;
    b.assert_no_horizontal_overflow("the header on a phone, signed in")
        .await;
    b.screenshot("signed-in-guest-phone").await;
    b.click("[data-testid=sign-out]").await;
    wait_h1(&b, "Sign in to Portico").await;
    b.assert_no_horizontal_overflow("the sign-in page on a phone")
        .await;
    b.screenshot("sign-in-phone").await;
    b.desktop().await;
    // The refused refresh after sign-out is the only console entry.
    b.assert_no_console_errors("GitHub sign-in", &["/api/auth/github/refresh"])
        .await;
    b.close().await;
    fixture.stop().await;
}
