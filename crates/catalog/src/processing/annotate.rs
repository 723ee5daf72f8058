//! The annotations the catalog adds to entities read from a location.

use portico_model::annotations;
use serde_json::{Map, Value};

/// Sets `managed-by-location`/`managed-by-origin-location` (always the catalog's), and for URL
/// locations the view, edit and source annotations unless the author set them.
pub(crate) fn annotate_child(entity: &mut Value, loc_type: &str, target: &str, origin: &str) {
    let Some(metadata) = entity.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let annotations_value = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if !annotations_value.is_object() {
        *annotations_value = Value::Object(Map::new());
    }
    let Some(map) = annotations_value.as_object_mut() else {
        return;
    };
    map.insert(
        annotations::MANAGED_BY_LOCATION.to_string(),
        Value::String(format!("{loc_type}:{target}")),
    );
    map.insert(
        annotations::MANAGED_BY_ORIGIN_LOCATION.to_string(),
        Value::String(origin.to_string()),
    );
    if loc_type != "url" {
        return;
    }
    let mut add_missing = |key: &str, value: String| {
        map.entry(key.to_string()).or_insert(Value::String(value));
    };
    add_missing(annotations::VIEW_URL, target.to_string());
    if let Some(edit) = github_edit_url(target) {
        add_missing(annotations::EDIT_URL, edit);
    }
    if let Some(dir) = source_folder(target) {
        add_missing(annotations::SOURCE_LOCATION, format!("url:{dir}"));
    }
    if let Some(slug) = github_project_slug(target) {
        add_missing("github.com/project-slug", slug);
    }
}

/// `…/blob/<ref>/<path>` becomes `…/edit/<ref>/<path>` on GitHub-style hosts.
fn github_edit_url(target: &str) -> Option<String> {
    let url = url::Url::parse(target).ok()?;
    let segments: Vec<&str> = url.path_segments()?.collect();
    if segments.len() >= 4 && segments[2] == "blob" {
        let mut edit = url.clone();
        let path = format!(
            "/{}/{}/edit/{}",
            segments[0],
            segments[1],
            segments[3..].join("/")
        );
        edit.set_path(&path);
        return Some(edit.to_string());
    }
    None
}

/// The folder containing the file, with a trailing `/`; GitHub `blob` URLs become `tree`.
fn source_folder(target: &str) -> Option<String> {
    let mut url = url::Url::parse(target).ok()?;
    let path = url.path().to_string();
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    let segments: Vec<&str> = dir.split('/').collect();
    let dir = if segments.len() > 3 && segments[3] == "blob" {
        let mut s = segments.clone();
        s[3] = "tree";
        s.join("/")
    } else {
        dir.to_string()
    };
    url.set_path(&dir);
    url.set_query(None);
    Some(url.to_string())
}

fn github_project_slug(target: &str) -> Option<String> {
    let url = url::Url::parse(target).ok()?;
    if !url.host_str()?.contains("github") {
        return None;
    }
    let mut segments = url.path_segments()?;
    let owner = segments.next()?;
    let repo = segments.next()?;
    (!owner.is_empty() && !repo.is_empty()).then(|| format!("{owner}/{repo}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn github_urls_get_view_edit_and_source_annotations() {
        let mut e = json!({"metadata": {"name": "a"}});
        let target = "https://github.com/o/r/blob/main/dir/catalog-info.yaml";
        annotate_child(
            &mut e,
            "url",
            target,
            "url:https://github.com/o/r/blob/main/all.yaml",
        );
        let a = &e["metadata"]["annotations"];
        assert_eq!(a[annotations::MANAGED_BY_LOCATION], format!("url:{target}"));
        assert_eq!(
            a[annotations::MANAGED_BY_ORIGIN_LOCATION],
            "url:https://github.com/o/r/blob/main/all.yaml"
        );
        assert_eq!(a[annotations::VIEW_URL], target);
        assert_eq!(
            a[annotations::EDIT_URL],
            "https://github.com/o/r/edit/main/dir/catalog-info.yaml"
        );
        assert_eq!(
            a[annotations::SOURCE_LOCATION],
            "url:https://github.com/o/r/tree/main/dir/"
        );
        assert_eq!(a["github.com/project-slug"], "o/r");
    }

    #[test]
    fn authors_values_win_except_managed_by() {
        let mut e = json!({"metadata": {"name": "a", "annotations": {
            "backstage.io/view-url": "https://docs", "backstage.io/managed-by-location": "x:y"}}});
        annotate_child(&mut e, "url", "https://h/a.yaml", "url:https://h/a.yaml");
        let a = &e["metadata"]["annotations"];
        assert_eq!(a[annotations::VIEW_URL], "https://docs");
        assert_eq!(a[annotations::MANAGED_BY_LOCATION], "url:https://h/a.yaml");
    }

    #[test]
    fn file_locations_get_only_managed_by() {
        let mut e = json!({"metadata": {"name": "a"}});
        annotate_child(&mut e, "file", "/x/a.yaml", "file:/x/all.yaml");
        let a = e["metadata"]["annotations"].as_object().unwrap();
        assert_eq!(a.len(), 2);
    }
}
