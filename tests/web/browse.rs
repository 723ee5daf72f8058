//! The pages in a real browser: filter, search and page through the catalog, open an entity,
//! follow a relation in the graph, visit groups and users, register a location through the
//! register page, at desktop and phone widths, with no console errors. Screenshots of every
//! page go to test-artifacts/web/.

use crate::browser::{browser_available, Browser};
use crate::fixture::{Fixture, GENERATED};
use crate::helpers::TestApp;
use crate::on_both_backends;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use portico_store::DbTarget;
use portico_test_support::TestDb;
use serde_json::json;

const SEARCH_FIELDS: &str = "metadata.name,metadata.title,spec.profile.displayName";
const PAGE_SIZE: u64 = 25;

pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `totalItems` of the by-query the catalog page makes for a filter and search term.
async fn api_total(app: &TestApp, filter: Option<&str>, term: Option<&str>) -> u64 {
    let mut path = "/api/catalog/entities/by-query?limit=1".to_string();
    if let Some(f) = filter {
        path.push_str(&format!("&filter={}", enc(f)));
    }
    if let Some(t) = term {
        path.push_str(&format!(
            "&fullTextFilterTerm={}&fullTextFilterFields={SEARCH_FIELDS}",
            enc(t)
        ));
    }
    let (status, body) = app.get(&path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["totalItems"].as_u64().expect("totalItems")
}

/// Names of one page of the catalog's ordering, from the API.
async fn api_names(app: &TestApp, filter: &str, offset: u64) -> Vec<String> {
    let path = format!(
        "/api/catalog/entities/by-query?filter={}&orderField=metadata.name,asc&limit={PAGE_SIZE}&offset={offset}&fields=metadata.name",
        enc(filter)
    );
    let (status, body) = app.get(&path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The facet value (as the API spells it) that equals `wanted` ignoring case.
async fn facet_value(app: &TestApp, facet: &str, wanted: &str) -> String {
    let (_, body) = app
        .get(&format!("/api/catalog/entity-facets?facet={facet}"))
        .await;
    body["facets"][facet]
        .as_array()
        .expect("facet values")
        .iter()
        .filter_map(|v| v["value"].as_str())
        .find(|v| v.eq_ignore_ascii_case(wanted))
        .unwrap_or_else(|| panic!("no {facet} facet value {wanted}: {body}"))
        .to_string()
}

async fn wait_total(b: &Browser, expected: u64) {
    let script = format!(
        "const s = document.querySelector('.results-summary'); \
         return !document.querySelector('.results-body[aria-busy]') && !!s && s.dataset.total === '{expected}';"
    );
    b.wait_until(&format!("the catalog to show {expected} entities"), &script)
        .await;
}

pub(crate) async fn wait_url(b: &Browser, what: &str, predicate_js: &str) {
    b.wait_until(
        what,
        &format!("const url = location.pathname + location.search; return {predicate_js};"),
    )
    .await;
}

pub(crate) async fn wait_h1(b: &Browser, text: &str) {
    b.wait_until(
        &format!("heading {text:?}"),
        &format!(
            "const h = document.querySelector('main h1'); return !!h && h.textContent === {} && !document.querySelector('main[aria-busy]');",
            json!(text)
        ),
    )
    .await;
}

async fn first_row_name(b: &Browser) -> String {
    b.js(
        "return document.querySelector('[data-testid=catalog-table] tbody tr .entity-link').dataset.name;",
        vec![],
    )
    .await
    .as_str()
    .unwrap_or("")
    .to_string()
}

/// The text as written (innerText would apply CSS text-transform).
pub(crate) async fn text_content(b: &Browser, css: &str) -> String {
    b.find(css).await;
    b.js(
        &format!("return document.querySelector({}).textContent;", json!(css)),
        vec![],
    )
    .await
    .as_str()
    .unwrap_or("")
    .to_string()
}

async fn select(b: &Browser, css: &str, value: &str) {
    b.find(css)
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("select {value} in {css}: {e}"));
}

/// Ticks (or unticks) one value of a multi-value filter, opening its disclosure first.
async fn toggle_value(b: &Browser, filter: &str, value: &str) {
    let details = format!("details.multi[data-filter={filter}]");
    let open = b
        .js(
            &format!("return document.querySelector({}).open;", json!(details)),
            vec![],
        )
        .await;
    if open != json!(true) {
        b.click(&format!("{details} > summary")).await;
    }
    b.click(&format!(
        "input[name={filter}][value={}] + label",
        json!(value)
    ))
    .await;
}

/// The values of a multi-value filter that are ticked.
async fn ticked(b: &Browser, filter: &str) -> Vec<String> {
    b.strings(&format!("input[name={filter}]:checked"), "e.value")
        .await
}

pub(crate) async fn press(b: &Browser, key: Key) {
    let actions = KeyActions::new("keyboard".to_string())
        .then(KeyAction::Down { value: key.into() })
        .then(KeyAction::Up { value: key.into() });
    b.client.perform_actions(actions).await.expect("key press");
}

/// Landmarks, one h1, a label for every control, a name for every link, and text contrast.
pub(crate) async fn assert_accessible(b: &Browser, page: &str) {
    let problems = b
        .js(
            r#"
const problems = [];
for (const sel of ['header', 'nav[aria-label]', 'main', 'footer']) {
  if (!document.querySelector(sel)) problems.push('missing landmark ' + sel);
}
const h1s = document.querySelectorAll('h1');
if (h1s.length !== 1) problems.push(h1s.length + ' h1 elements');
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (el.type === 'hidden') continue;
  const named = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
  if (!named) problems.push('unlabelled ' + el.outerHTML.slice(0, 80));
}
for (const el of document.querySelectorAll('a, button')) {
  const name = (el.textContent || '').trim() || el.getAttribute('aria-label') || el.getAttribute('title');
  if (!name) problems.push('nameless ' + el.outerHTML.slice(0, 80));
}
const ids = new Set();
for (const el of document.querySelectorAll('[id]')) {
  if (ids.has(el.id)) problems.push('duplicate id ' + el.id);
  ids.add(el.id);
}
// WCAG contrast of visible text against its effective background.
const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
const lum = ([r, g, b]) => {
  const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
};
const background = (el) => {
  for (let e = el; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
  }
  return [255, 255, 255];
};
const checked = new Set();
for (const el of document.querySelectorAll('body *')) {
  if (['SCRIPT', 'STYLE', 'svg', 'NOSCRIPT'].includes(el.tagName) || el.closest('svg, .visually-hidden, [aria-disabled="true"], :disabled')) continue;
  const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join('');
  if (!text || !el.getClientRects().length) continue;
  const style = getComputedStyle(el);
  const key = style.color + '|' + background(el).join(',') + '|' + style.fontSize + style.fontWeight;
  if (checked.has(key)) continue;
  checked.add(key);
  const fg = rgb(style.color).slice(0, 3);
  const [l1, l2] = [lum(fg), lum(background(el))].sort((a, b) => b - a);
  const ratio = (l1 + 0.05) / (l2 + 0.05);
  const large = parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
  if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)} for "${text.slice(0, 30)}" (${style.color} on ${background(el)})`);
}
return problems;
"#,
            vec![],
        )
        .await;
    let problems: Vec<String> = serde_json::from_value(problems).unwrap_or_default();
    assert!(
        problems.is_empty(),
        "accessibility problems on {page}:\n{}",
        problems.join("\n")
    );
}

/// Everything a user does with the catalog, on SQLite and on PostgreSQL (whose screenshots
/// are prefixed `postgres-`).
async fn browse_the_catalog_in_a_browser(db: TestDb) {
    if !browser_available() {
        return;
    }
    let prefix = match &db.target {
        DbTarget::Postgres(_) => "postgres-",
        DbTarget::Sqlite(_) => "",
    };
    let (fixture, has_reference) = Fixture::start(db, GENERATED).await;
    let mut b = Browser::start().await;
    b.screenshot_prefix = prefix.to_string();
    b.desktop().await;

    catalog_page(&b, &fixture.app).await;
    filters_search_and_history(&b, &fixture.app).await;
    paging(&b, &fixture.app).await;
    sorting(&b, &fixture.app).await;
    entity_graph_group_and_user(&b, &fixture.app).await;
    api_definition(&b, &fixture.app, has_reference).await;
    if has_reference {
        owned_by_me(&b, &fixture.app).await;
        processing_errors(&b, &fixture.app).await;
    }
    not_found_pages(&b, &fixture.app).await;
    register(&b, &fixture).await;
    keyboard(&b, &fixture.app).await;
    phone(&b, &fixture.app).await;

    b.close().await;
    fixture.stop().await;
}
on_both_backends!(browse_the_catalog_in_a_browser);

async fn catalog_page(b: &Browser, app: &TestApp) {
    b.goto(&app.url("/catalog")).await;
    b.find("[data-testid=catalog-table] tbody tr").await;
    let total = api_total(app, None, None).await;
    assert!(total as usize > GENERATED, "{total}");
    wait_total(b, total).await;
    let rows = b
        .js(
            "return document.querySelectorAll('[data-testid=catalog-table] tbody tr').length;",
            vec![],
        )
        .await;
    assert_eq!(rows, json!(PAGE_SIZE));
    let (_, first) = app
        .get("/api/catalog/entities/by-query?orderField=metadata.name,asc&limit=1")
        .await;
    assert_eq!(
        first_row_name(b).await,
        first["items"][0]["metadata"]["name"].as_str().unwrap()
    );
    let summary = b.text(".results-summary").await;
    assert!(
        summary.starts_with("Showing 1–25 of "),
        "summary: {summary}"
    );
    let identity = b
        .js(
            "return document.querySelector('[data-testid=identity]').textContent;",
            vec![],
        )
        .await;
    assert_eq!(identity, json!("GSigned in as Guest"));
    b.screenshot("catalog-desktop").await;
    assert_accessible(b, "the catalog").await;
    b.assert_no_console_errors("the catalog", &[]).await;
}

async fn filters_search_and_history(b: &Browser, app: &TestApp) {
    let component = facet_value(app, "kind", "component").await;
    select(b, "select[name=kind]", &component).await;
    wait_url(b, "kind in the URL", "url.includes('kind=')").await;
    wait_total(b, api_total(app, Some("kind=component"), None).await).await;
    // The other facets now count components only.
    b.wait_until(
        "type values of components only",
        "const v = [...document.querySelectorAll('input[name=type]')].map(o => o.value); \
         return v.includes('service') && !v.includes('openapi') && !v.includes('database');",
    )
    .await;
    let label = b
        .js(
            "return document.querySelector('input[name=type][value=service] + label').textContent;",
            vec![],
        )
        .await;
    let services = api_total(app, Some("kind=component,spec.type=service"), None).await;
    assert_eq!(
        label,
        json!(format!("service ({})", format_number(services)))
    );

    // Several values of one filter: any of them (OR); several filters: all of them (AND).
    toggle_value(b, "type", "service").await;
    wait_total(b, services).await;
    toggle_value(b, "type", "website").await;
    let f2 = "kind=component,spec.type=service,spec.type=website";
    let either = api_total(app, Some(f2), None).await;
    assert!(either > services, "{either} > {services}");
    wait_total(b, either).await;
    wait_url(
        b,
        "both types in the URL",
        "url.includes('type=service&type=website')",
    )
    .await;
    assert_eq!(
        b.text("details.multi[data-filter=type] .multi__chosen")
            .await,
        "service, website"
    );
    toggle_value(b, "lifecycle", "production").await;
    let f3 = "kind=component,spec.type=service,spec.type=website,spec.lifecycle=production";
    wait_total(b, api_total(app, Some(f3), None).await).await;
    toggle_value(b, "tag", "typescript").await;
    toggle_value(b, "tag", "go").await;
    let f4 = "kind=component,spec.type=service,spec.type=website,spec.lifecycle=production,metadata.tags=typescript,metadata.tags=go";
    let tagged = api_total(app, Some(f4), None).await;
    assert!(tagged > 0);
    wait_total(b, tagged).await;
    // Every row shown has one of the tags and one of the types.
    let rows: Vec<String> = b
        .strings("[data-testid=catalog-table] tbody tr", "e.textContent")
        .await;
    for row in &rows {
        assert!(
            (row.contains("typescript") || row.contains("go"))
                && (row.contains("service") || row.contains("website"))
                && row.contains("production"),
            "{row}"
        );
    }
    wait_url(
        b,
        "all filters in the URL",
        "url.includes('type=service') && url.includes('lifecycle=production') && url.includes('tag=go&tag=typescript')",
    )
    .await;
    b.screenshot("catalog-filtered-desktop").await;
    assert_accessible(b, "the filtered catalog").await;
    // Untick one tag: the other stays.
    toggle_value(b, "tag", "go").await;
    let f4 = "kind=component,spec.type=service,spec.type=website,spec.lifecycle=production,metadata.tags=typescript";
    let tagged = api_total(app, Some(f4), None).await;
    wait_total(b, tagged).await;
    assert_eq!(ticked(b, "tag").await, ["typescript"]);

    // Full-text search, debounced into the URL.
    b.find("input[name=q]")
        .await
        .send_keys("number 12")
        .await
        .expect("type a search");
    wait_url(b, "the search in the URL", "url.includes('q=number+12')").await;
    let found = api_total(app, Some(f4), Some("number 12")).await;
    assert!(found > 0 && found < tagged, "{found} of {tagged}");
    wait_total(b, found).await;
    assert_eq!(first_row_name(b).await, "component-12");
    b.screenshot("catalog-search-desktop").await;

    // The back button undoes the search, then the tag filter; forward redoes it.
    b.client.back().await.expect("back");
    wait_url(
        b,
        "no search",
        "!url.includes('q=') && url.includes('tag=typescript')",
    )
    .await;
    wait_total(b, tagged).await;
    assert_eq!(
        b.js(
            "return document.querySelector('input[name=q]').value;",
            vec![]
        )
        .await,
        json!("")
    );
    b.client.back().await.expect("back");
    wait_url(
        b,
        "both tags again",
        "url.includes('tag=go&tag=typescript')",
    )
    .await;
    b.client.back().await.expect("back");
    wait_url(
        b,
        "the first tag",
        "url.includes('tag=typescript') && !url.includes('tag=go')",
    )
    .await;
    b.client.back().await.expect("back");
    wait_url(b, "no tag", "!url.includes('tag=')").await;
    wait_total(b, api_total(app, Some(f3), None).await).await;
    assert!(ticked(b, "tag").await.is_empty());
    b.client.forward().await.expect("forward");
    b.client.forward().await.expect("forward");
    b.client.forward().await.expect("forward");
    wait_url(
        b,
        "the tag again",
        "url.includes('tag=typescript') && !url.includes('tag=go')",
    )
    .await;
    wait_total(b, tagged).await;

    // A shared link opens the same view.
    let shared = b.path_and_query().await;
    b.goto(&app.url(&shared)).await;
    wait_total(b, tagged).await;
    assert_eq!(ticked(b, "lifecycle").await, ["production"]);
    assert_eq!(ticked(b, "type").await, ["service", "website"]);

    // Filters that match nothing: a clear empty state.
    b.find("input[name=q]")
        .await
        .send_keys(" zzz-nothing")
        .await
        .expect("type");
    b.find(".state--empty").await;
    assert!(b.text(".state--empty").await.contains("No entities match"));
    assert_eq!(
        b.js(
            "return document.querySelector('.pager').getClientRects().length;",
            vec![]
        )
        .await,
        json!(0),
        "no pager without results"
    );
    b.screenshot("catalog-empty-desktop").await;
    b.assert_no_console_errors("filters and search", &[]).await;
}

async fn paging(b: &Browser, app: &TestApp) {
    b.goto(&app.url("/catalog?kind=component")).await;
    let total = api_total(app, Some("kind=component"), None).await;
    wait_total(b, total).await;
    let pages = total.div_ceil(PAGE_SIZE);
    let position = |n: u64| format!("Page {n} of {}", format_number(pages));
    assert_eq!(b.text(".pager__position").await, position(1));
    let page2 = api_names(app, "kind=component", PAGE_SIZE).await;
    let page3 = api_names(app, "kind=component", 2 * PAGE_SIZE).await;

    b.click(".pager a[rel=next]").await;
    wait_url(
        b,
        "a cursor",
        "url.includes('cursor=') && url.includes('page=2')",
    )
    .await;
    b.wait_until(
        "page 2",
        &format!(
            "return document.querySelector('.pager__position').textContent === {} && !document.querySelector('.results-body[aria-busy]');",
            json!(position(2))
        ),
    )
    .await;
    assert_eq!(first_row_name(b).await, page2[0]);
    let summary = b.text(".results-summary").await;
    assert!(
        summary.starts_with(&format!("Showing 26–50 of {}", format_number(total))),
        "{summary}"
    );

    b.click(".pager a[rel=next]").await;
    wait_url(b, "page 3", "url.includes('page=3')").await;
    b.wait_until(
        "page 3 rows",
        &format!(
            "const a = document.querySelector('[data-testid=catalog-table] tbody .entity-link'); return !!a && a.dataset.name === {};",
            json!(page3[0])
        ),
    )
    .await;

    b.click(".pager a[rel=prev]").await;
    wait_url(b, "back to page 2", "url.includes('page=2')").await;
    b.wait_until(
        "page 2 rows",
        &format!(
            "const a = document.querySelector('[data-testid=catalog-table] tbody .entity-link'); return !!a && a.dataset.name === {};",
            json!(page2[0])
        ),
    )
    .await;
    let names = row_names(b).await;
    assert_eq!(names, page2);
    b.screenshot("catalog-page2-desktop").await;

    b.click(".pager a[rel=prev]").await;
    wait_url(b, "page 1", "!url.includes('cursor=')").await;
    b.wait_until(
        "page 1",
        &format!(
            "return document.querySelector('.pager__position').textContent === {} && !document.querySelector('.results-body[aria-busy]');",
            json!(position(1))
        ),
    )
    .await;
    let prev = b
        .js(
            "return document.querySelector('.pager [rel=prev]') === null && document.querySelector('.pager [aria-disabled]') !== null;",
            vec![],
        )
        .await;
    assert_eq!(prev, json!(true), "no previous page on page 1");
    b.assert_no_console_errors("paging", &[]).await;
}

/// `metadata.name`s of one page of kind=component in the API's order for `order_field`.
async fn api_sorted_names(app: &TestApp, order_field: &str, offset: u64) -> Vec<String> {
    let path = format!(
        "/api/catalog/entities/by-query?filter=kind=component&orderField={order_field}&limit={PAGE_SIZE}&offset={offset}&fields=metadata.name"
    );
    let (status, body) = app.get(&path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn row_names(b: &Browser) -> Vec<String> {
    b.strings(
        "[data-testid=catalog-table] tbody .entity-link",
        "e.dataset.name",
    )
    .await
}

/// The `aria-sort` of each sortable column header, by its button's `data-sort`.
async fn aria_sorts(b: &Browser) -> serde_json::Value {
    b.js(
        "const out = {}; for (const btn of document.querySelectorAll('th button.sort')) out[btn.dataset.sort] = btn.closest('th').getAttribute('aria-sort'); return out;",
        vec![],
    )
    .await
}

async fn wait_rows(b: &Browser, what: &str, names: &[String]) {
    b.wait_until(
        what,
        &format!(
            "if (document.querySelector('.results-body[aria-busy]')) return false; \
             const n = [...document.querySelectorAll('[data-testid=catalog-table] tbody .entity-link')].map(a => a.dataset.name); \
             return JSON.stringify(n) === {};",
            json!(serde_json::to_string(names).unwrap())
        ),
    )
    .await;
}

/// Column sorting: on the server (orderField), in the URL, with buttons that keep focus and
/// say their state in aria-sort; cursor paging keeps the order.
async fn sorting(b: &Browser, app: &TestApp) {
    b.goto(&app.url("/catalog?kind=component")).await;
    wait_rows(
        b,
        "the name order",
        &api_sorted_names(app, "metadata.name,asc", 0).await,
    )
    .await;
    assert_eq!(
        aria_sorts(b).await,
        json!({"name": "ascending", "type": null, "owner": null, "lifecycle": null})
    );

    // By type, with the mouse.
    b.click("button.sort[data-sort=type]").await;
    wait_url(
        b,
        "sort=type",
        "url === '/catalog?kind=component&sort=type'",
    )
    .await;
    let by_type = api_sorted_names(app, "spec.type,asc", 0).await;
    wait_rows(b, "the type order", &by_type).await;
    assert_eq!(
        aria_sorts(b).await,
        json!({"name": null, "type": "ascending", "owner": null, "lifecycle": null})
    );
    assert_eq!(
        b.js("return document.activeElement.dataset.sort;", vec![])
            .await,
        json!("type"),
        "focus stays on the sort button"
    );

    // Again, with the keyboard: descending.
    press(b, Key::Enter).await;
    wait_url(b, "order=desc", "url.includes('sort=type&order=desc')").await;
    let desc = api_sorted_names(app, "spec.type,desc", 0).await;
    assert_ne!(desc, by_type);
    wait_rows(b, "the descending type order", &desc).await;
    assert_eq!(aria_sorts(b).await["type"], json!("descending"));
    b.screenshot("catalog-sorted-desktop").await;
    assert_accessible(b, "the sorted catalog").await;

    // The cursor pages on in the same order.
    b.click(".pager a[rel=next]").await;
    wait_url(b, "page 2", "url.includes('page=2')").await;
    wait_rows(
        b,
        "page 2 of the descending type order",
        &api_sorted_names(app, "spec.type,desc", PAGE_SIZE).await,
    )
    .await;
    assert!(b.path_and_query().await.contains("sort=type&order=desc"));

    // By owner and by lifecycle; back returns to the previous order.
    b.click("button.sort[data-sort=owner]").await;
    wait_rows(
        b,
        "the owner order",
        &api_sorted_names(app, "relations.ownedBy,asc", 0).await,
    )
    .await;
    b.click("button.sort[data-sort=lifecycle]").await;
    wait_rows(
        b,
        "the lifecycle order",
        &api_sorted_names(app, "spec.lifecycle,asc", 0).await,
    )
    .await;
    b.client.back().await.expect("back");
    wait_rows(
        b,
        "the owner order again",
        &api_sorted_names(app, "relations.ownedBy,asc", 0).await,
    )
    .await;
    assert_eq!(aria_sorts(b).await["owner"], json!("ascending"));

    // By kind, over every kind.
    b.goto(&app.url("/catalog?sort=kind&order=desc")).await;
    let (_, body) = app
        .get("/api/catalog/entities/by-query?orderField=kind,desc&limit=25&fields=metadata.name")
        .await;
    let names: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    wait_rows(b, "the kind order", &names).await;
    assert_eq!(aria_sorts(b).await["kind"], json!("descending"));
    assert_eq!(row_names(b).await.len(), PAGE_SIZE as usize);
    b.assert_no_console_errors("sorting", &[]).await;
}

fn format_number(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

async fn entity_graph_group_and_user(b: &Browser, app: &TestApp) {
    // From the catalog table to an entity.
    b.goto(&app.url("/catalog?kind=component")).await;
    b.click("a.entity-link[data-name=component-1]").await;
    wait_url(
        b,
        "the entity page",
        "url === '/catalog/default/component/component-1'",
    )
    .await;
    wait_h1(b, "Component number 1").await;
    let about = b.text(".about").await;
    for expected in [
        "Synthetic service 1 of the benchmark organisation",
        "group-1",
        "system-1",
        "experimental",
        "website",
    ] {
        assert!(about.contains(expected), "{expected} not in about: {about}");
    }
    assert_eq!(
        b.js("return document.title;", vec![]).await,
        json!("Component number 1 · Portico")
    );
    // The relations graph and lists.
    b.find("svg.graph__svg[data-layout=wide]").await;
    let nodes: Vec<String> = b
        .strings("a.graph__node", "e.dataset.relation + ' ' + e.dataset.ref")
        .await;
    for expected in [
        "ownedBy group:default/group-1",
        "partOf system:default/system-1",
        "dependsOn resource:default/resource-1",
        "providesApi api:default/api-1",
        "consumesApi api:default/api-8",
    ] {
        assert!(
            nodes.iter().any(|n| n == expected),
            "{expected} not in {nodes:?}"
        );
    }
    assert!(b.text(".relations").await.contains("group:group-1"));
    // The raw YAML.
    b.click("details.yaml summary").await;
    let yaml = b.text("[data-testid=yaml]").await;
    for expected in [
        "apiVersion: backstage.io/v1alpha1",
        "kind: Component",
        "  name: component-1",
        "  title: Component number 1",
        "  tags:\n  - go\n  - typescript",
        "  owner: group-1",
        "relations:\n- type: ",
    ] {
        assert!(yaml.contains(expected), "{expected:?} not in YAML:\n{yaml}");
    }
    b.screenshot("entity-desktop").await;
    assert_accessible(b, "an entity page").await;

    // Follow the ownedBy relation in the graph.
    b.click("a.graph__node[data-relation=ownedBy]").await;
    wait_url(
        b,
        "the group page",
        "url === '/catalog/default/group/group-1'",
    )
    .await;
    wait_h1(b, "group-1").await;
    let members = api_total(
        app,
        Some("kind=user,relations.memberOf=group:default/group-1"),
        None,
    )
    .await;
    let owned = api_total(app, Some("relations.ownedBy=group:default/group-1"), None).await;
    assert!(
        members > 0 && owned > 20,
        "{members} members, {owned} owned"
    );
    b.wait_until(
        "members and owned entities",
        &format!(
            "const t = document.querySelector('main').innerText; return t.includes('{members} in total') && t.includes('{owned} in total');"
        ),
    )
    .await;
    let group_text = text_content(b, "main").await;
    for expected in [
        "Members",
        "User Number 1",
        "Parent group",
        "group-0",
        "Owned entities",
    ] {
        assert!(
            group_text.contains(expected),
            "{expected} not on the group page"
        );
    }
    b.screenshot("group-desktop").await;
    assert_accessible(b, "a group page").await;

    // "Show more" pages the owned entities with the cursor.
    let before = b
        .js(
            "return document.querySelectorAll('[data-testid=owned-entities] li').length;",
            vec![],
        )
        .await;
    assert_eq!(before, json!(20));
    b.click("[data-testid=owned-entities] button").await;
    b.wait_until(
        "more owned entities",
        "return document.querySelectorAll('[data-testid=owned-entities] li').length > 20;",
    )
    .await;

    // What the group owns, in the catalog.
    b.click("a[href^='/catalog?owner=']").await;
    wait_url(
        b,
        "the owner filter",
        "url.startsWith('/catalog?owner=group')",
    )
    .await;
    wait_total(b, owned).await;
    assert_eq!(ticked(b, "owner").await, ["group:default/group-1"]);
    b.client.back().await.expect("back");
    wait_h1(b, "group-1").await;

    // A member.
    b.wait_until(
        "member links",
        "return [...document.querySelectorAll('main a')].some(a => a.textContent === 'User Number 1');",
    )
    .await;
    b.js(
        "[...document.querySelectorAll('main a')].find(a => a.textContent === 'User Number 1').click();",
        vec![],
    )
    .await;
    wait_url(b, "the user page", "url === '/catalog/default/user/user-1'").await;
    wait_h1(b, "User Number 1").await;
    let user_text = text_content(b, "main").await;
    assert!(user_text.contains("group:group-1") || user_text.contains("group-1"));
    assert!(user_text.contains("Owned entities"));
    b.screenshot("user-desktop").await;

    // Keyboard: a graph node takes focus and Enter follows it.
    b.goto(&app.url("/catalog/default/component/component-2"))
        .await;
    wait_h1(b, "Component number 2").await;
    let node = b.find("a.graph__node[data-relation=partOf]").await;
    b.js(
        "arguments[0].focus();",
        vec![serde_json::to_value(&node).unwrap()],
    )
    .await;
    assert_eq!(
        b.js("return document.activeElement.dataset.ref;", vec![])
            .await,
        json!("system:default/system-2")
    );
    press(b, Key::Enter).await;
    wait_url(
        b,
        "the system page",
        "url === '/catalog/default/system/system-2'",
    )
    .await;
    wait_h1(b, "system-2").await;
    b.screenshot("system-desktop").await;
    b.assert_no_console_errors("entity, group and user pages", &[])
        .await;
}

async fn api_definition(b: &Browser, app: &TestApp, has_reference: bool) {
    b.goto(&app.url("/catalog/default/api/api-0")).await;
    wait_h1(b, "api-0").await;
    assert!(b.text("pre.code").await.contains("openapi: 3.0.0"));
    b.screenshot("api-openapi-desktop").await;
    if has_reference {
        b.goto(&app.url("/catalog/default/api/example-grpc-api"))
            .await;
        wait_h1(b, "example-grpc-api").await;
        let definition = b.text("pre.code").await;
        assert!(definition.contains("service Exampler {"), "{definition}");
        b.screenshot("api-desktop").await;
    }
    b.assert_no_console_errors("API pages", &[]).await;
}

async fn owned_by_me(b: &Browser, app: &TestApp) {
    b.goto(&app.url("/catalog")).await;
    b.find("[data-testid=catalog-table] tbody tr").await;
    b.click("label[for$='-mine']").await;
    wait_url(b, "owned=mine", "url.includes('owned=mine')").await;
    let mine = api_total(
        app,
        Some("relations.ownedBy=user:default/guest,relations.ownedBy=group:default/guests"),
        None,
    )
    .await;
    assert!(mine >= 3, "{mine}");
    wait_total(b, mine).await;
    let names: Vec<String> = b.strings(".entity-link", "e.dataset.name").await;
    for expected in ["example-website", "example-grpc-api", "examples"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not in {names:?}"
        );
    }
    assert_eq!(
        b.js(
            "return document.querySelector('.pager').getClientRects().length;",
            vec![]
        )
        .await,
        json!(0),
        "no pager for a single page"
    );
    b.screenshot("catalog-owned-desktop").await;
    // The header names the guest and links to their page.
    b.click("[data-testid=identity]").await;
    wait_url(
        b,
        "the guest's page",
        "url === '/catalog/default/user/guest'",
    )
    .await;
    wait_h1(b, "guest").await;
    b.screenshot("guest-user-desktop").await;
    b.assert_no_console_errors("owned by me", &[]).await;
}

async fn processing_errors(b: &Browser, app: &TestApp) {
    let (status, location) = app
        .get("/api/catalog/entities/by-name/location/default/portico-reference-examples")
        .await;
    assert_eq!(status, 200, "{location}");
    let message = location["status"]["items"][0]["error"]["message"]
        .as_str()
        .expect("the reference examples' Location reports the documents it rejects")
        .to_string();
    b.goto(&app.url("/catalog/default/location/portico-reference-examples"))
        .await;
    let errors = b.text("[data-testid=processing-errors]").await;
    assert!(errors.contains(&message), "{message} not in {errors}");
    assert!(text_content(b, "main").await.contains("Targets"));
    b.screenshot("location-errors-desktop").await;
    b.assert_no_console_errors("processing errors", &[]).await;
}

async fn not_found_pages(b: &Browser, app: &TestApp) {
    b.goto(&app.url("/catalog/default/component/does-not-exist"))
        .await;
    b.find("[data-testid=entity-not-found]").await;
    wait_h1(b, "Entity not found").await;
    assert!(b
        .text("[data-testid=entity-not-found]")
        .await
        .contains("There is no component named “does-not-exist”"));
    b.screenshot("entity-not-found-desktop").await;
    b.goto(&app.url("/no-such-page")).await;
    b.find("[data-testid=page-not-found]").await;
    wait_h1(b, "Page not found").await;
    b.screenshot("page-not-found-desktop").await;
    // The API's 404 answers (expected here) are the only console entries.
    b.assert_no_console_errors(
        "not-found pages",
        &[
            "/entities/by-name/component/default/does-not-exist",
            "/no-such-page",
        ],
    )
    .await;
}

const REGISTERED: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: web-registered-service
  title: Registered through the browser
  description: Registered by the web test through the register page.
  tags: [web, test]
  links:
    - url: https://dashboards.example.com/web-registered-service
      title: Dashboard
  annotations:
    backstage.io/view-url: https://code.example.com/team-web/view
    backstage.io/edit-url: https://code.example.com/team-web/edit
spec:
  type: service
  lifecycle: production
  owner: group-1
  system: system-1
  providesApis: [web-registered-api]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: web-registered-api
spec:
  type: openapi
  lifecycle: production
  owner: group-1
  definition: |
    openapi: 3.0.0
    info:
      title: Registered API
"#;

async fn register(b: &Browser, fixture: &Fixture) {
    let app = &fixture.app;
    fixture.files.put("/team-web/catalog-info.yaml", REGISTERED);
    let target = fixture.files.url("/team-web/catalog-info.yaml");

    b.goto(&app.url("/catalog")).await;
    b.click("a[data-nav=Register]").await;
    wait_h1(b, "Register an existing component").await;
    // Not a URL: said so, nothing sent.
    b.find("input[name=url]")
        .await
        .send_keys("not a url")
        .await
        .expect("type");
    b.click("form button[type=submit]").await;
    b.find(".state--error").await;
    assert!(b.text(".state--error").await.contains("not a URL"));

    // A host outside backend.reading.allow: the API's error, shown plainly.
    let input = b.find("input[name=url]").await;
    input.clear().await.expect("clear");
    input
        .send_keys("http://127.0.0.9:9/catalog-info.yaml")
        .await
        .expect("type");
    b.click("form button[type=submit]").await;
    b.wait_until(
        "the API's error",
        "const e = document.querySelector('.register__result .state--error'); return !!e && e.textContent.includes('could not be analyzed');",
    )
    .await;
    b.screenshot("register-error-desktop").await;

    // The real file: analyse, review, import.
    let input = b.find("input[name=url]").await;
    input.clear().await.expect("clear");
    input.send_keys(&target).await.expect("type");
    b.click("form button[type=submit]").await;
    b.find("[data-testid=analysed-entities]").await;
    let analysed = b.text("[data-testid=analysed-entities] tbody").await;
    assert!(analysed.contains("web-registered-service"), "{analysed}");
    assert!(analysed.contains("web-registered-api"), "{analysed}");
    let analysis = b.text("[data-testid=analysis]").await;
    assert!(
        analysis.contains("2 entities will be added to the catalog (plus the Location entity that tracks the file)"),
        "{analysis}"
    );
    b.screenshot("register-analysed-desktop").await;
    let (_, before) = app.get("/api/catalog/locations").await;
    assert!(!before.to_string().contains(&target));

    b.click("[data-testid=analysis] .actions button.button:not(.button--secondary)")
        .await;
    b.find("[data-testid=imported]").await;
    let (_, after) = app.get("/api/catalog/locations").await;
    assert!(after.to_string().contains(&target), "{after}");
    b.screenshot("register-imported-desktop").await;

    // Once processed, the new entity opens from the import result.
    app.process().await;
    b.click("[data-testid=imported] .actions a.button:not(.button--secondary)")
        .await;
    wait_url(
        b,
        "the registered entity",
        "url === '/catalog/default/component/web-registered-service'",
    )
    .await;
    wait_h1(b, "Registered through the browser").await;
    let hrefs: Vec<String> = b
        .strings(".card a[target=_blank]", "e.textContent + ' ' + e.href")
        .await;
    for expected in [
        "View source (opens in a new tab) https://code.example.com/team-web/view".to_string(),
        "Edit metadata (opens in a new tab) https://code.example.com/team-web/edit".to_string(),
        "Dashboard (opens in a new tab) https://dashboards.example.com/web-registered-service"
            .to_string(),
        format!(
            "{} (opens in a new tab) {}",
            fixture.files.url("/team-web/"),
            fixture.files.url("/team-web/")
        ),
    ] {
        assert!(hrefs.contains(&expected), "{expected} not in {hrefs:?}");
    }
    b.find("a.graph__node[data-ref='api:default/web-registered-api']")
        .await;
    b.screenshot("registered-entity-desktop").await;

    // Registering it again: already there.
    b.goto(&app.url(&format!("/register?url={}", enc(&target))))
        .await;
    b.find("[data-testid=analysis] .notice").await;
    assert!(b
        .text("[data-testid=analysis]")
        .await
        .contains("already registered"));
    b.assert_no_console_errors("register", &["/api/catalog/locations?dryRun=true"])
        .await;
}

async fn keyboard(b: &Browser, app: &TestApp) {
    b.goto(&app.url("/catalog")).await;
    b.find("[data-testid=catalog-table] tbody tr").await;
    // The first Tab reaches the skip link; Enter moves focus to the main content.
    press(b, Key::Tab).await;
    assert_eq!(
        b.js("return document.activeElement.className;", vec![])
            .await,
        json!("skip-link")
    );
    let top = b
        .js(
            "return document.activeElement.getBoundingClientRect().top >= 0;",
            vec![],
        )
        .await;
    assert_eq!(top, json!(true), "the focused skip link is visible");
    press(b, Key::Enter).await;
    b.wait_until(
        "focus in main",
        "return document.activeElement === document.getElementById('main');",
    )
    .await;
    // Tab then walks into the page: the search box comes before the table.
    press(b, Key::Tab).await;
    let first = b
        .js(
            "return document.activeElement.textContent || document.activeElement.name;",
            vec![],
        )
        .await;
    assert_eq!(first, json!("Register existing component"));
    b.assert_no_console_errors("keyboard", &[]).await;
}

async fn phone(b: &Browser, app: &TestApp) {
    b.phone().await;
    b.goto(&app.url("/catalog")).await;
    b.find("[data-testid=catalog-table] tbody tr").await;
    assert_eq!(
        b.js(
            "return document.querySelector('details.filters-panel').open;",
            vec![]
        )
        .await,
        json!(false),
        "filters start folded on a phone"
    );
    b.assert_no_horizontal_overflow("the catalog on a phone")
        .await;
    b.screenshot("catalog-phone").await;
    b.click("details.filters-panel summary").await;
    b.find("select[name=kind]").await;
    b.screenshot("catalog-filters-phone").await;

    b.goto(&app.url("/catalog/default/component/component-1"))
        .await;
    wait_h1(b, "Component number 1").await;
    b.find("svg.graph__svg[data-layout=narrow]").await;
    b.assert_no_horizontal_overflow("an entity on a phone")
        .await;
    b.screenshot("entity-phone").await;

    b.goto(&app.url("/catalog/default/group/group-1")).await;
    wait_h1(b, "group-1").await;
    b.wait_until(
        "members",
        "return document.querySelector('main').innerText.includes('User Number 1');",
    )
    .await;
    b.assert_no_horizontal_overflow("a group on a phone").await;
    b.screenshot("group-phone").await;

    b.goto(&app.url("/register")).await;
    wait_h1(b, "Register an existing component").await;
    b.assert_no_horizontal_overflow("register on a phone").await;
    b.screenshot("register-phone").await;

    b.goto(&app.url("/catalog/default/component/does-not-exist"))
        .await;
    b.find("[data-testid=entity-not-found]").await;
    b.assert_no_horizontal_overflow("not found on a phone")
        .await;
    b.screenshot("entity-not-found-phone").await;
    b.assert_no_console_errors(
        "phone pages",
        &["/entities/by-name/component/default/does-not-exist"],
    )
    .await;
    b.desktop().await;
}

/// When sign-in cannot reach the server, the sign-in page says so plainly and offers the
/// providers again; once it can, the guest button signs in and the page asked for shows.
#[actix_web::test]
async fn sign_in_failures_are_shown_plainly() {
    if !browser_available() {
        return;
    }
    let (fixture, _) = Fixture::start(TestDb::sqlite(), 0).await;
    let b = Browser::start().await;
    b.desktop().await;
    // The browser cannot reach the sign-in endpoint.
    b.cdp("Network.enable", json!({})).await;
    b.cdp(
        "Network.setBlockedURLs",
        json!({ "urls": ["*/api/auth/guest/refresh*"] }),
    )
    .await;
    b.goto(&fixture.app.url("/register")).await;
    wait_h1(&b, "Sign in to Portico").await;
    b.wait_until(
        "the header to say nobody is signed in",
        "const e = document.querySelector('[data-testid=identity]'); return !!e && e.textContent.includes('Not signed in');",
    )
    .await;
    let error = b.text("[data-testid=sign-in-status] .state--error").await;
    assert!(error.contains("Signing in failed"), "{error}");
    assert!(
        error.contains("Could not reach the Portico server"),
        "{error}"
    );
    b.screenshot("signed-out-desktop").await;
    assert_accessible(&b, "the sign-in page with an error").await;

    // Trying again while it is still unreachable: the same, said again.
    b.click("button[data-provider=guest]").await;
    b.wait_until(
        "the guest error",
        "const e = document.querySelector('[data-testid=sign-in-status] .state--error'); return !!e && e.textContent.includes('Guest sign-in failed');",
    )
    .await;

    // Reachable again: the button signs in and the entity asked for shows.
    b.cdp("Network.setBlockedURLs", json!({ "urls": [] })).await;
    b.wait_until(
        "the button again",
        "return !document.querySelector('button[data-provider=guest]').disabled;",
    )
    .await;
    b.click("button[data-provider=guest]").await;
    b.wait_until(
        "the guest in the header",
        "const e = document.querySelector('[data-testid=identity]'); return !!e && e.textContent.includes('Guest');",
    )
    .await;
    wait_h1(&b, "Register an existing component").await;
    assert_eq!(b.path_and_query().await, "/register");
    // The refused sign-ins are the only console entries.
    b.assert_no_console_errors("signed out", &["/api/auth/guest/refresh"])
        .await;
    b.close().await;
    fixture.stop().await;
}
