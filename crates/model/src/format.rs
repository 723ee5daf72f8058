//! The field formats of Backstage's default validators (names, namespaces, kinds, keys, tags,
//! URLs), written as character checks so no regex has to be compiled at run time.
//!
//! Every accepted character is ASCII, so byte length equals the UTF-16 length JavaScript checks.

/// The longest name, namespace, kind or tag Backstage accepts.
const MAX_NAME_LEN: usize = 63;
/// The longest DNS subdomain (an apiVersion group or a key prefix).
const MAX_SUBDOMAIN_LEN: usize = 253;

/// `metadata.name`: 1–63 of `[A-Za-z0-9-_.]`, starting and ending with a letter or digit.
pub fn is_valid_entity_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    let inner_ok = bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    inner_ok
        && (1..=MAX_NAME_LEN).contains(&bytes.len())
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A DNS label (RFC 1123): 1–63 of `[a-z0-9-]`, not starting or ending with `-`.
pub fn is_valid_dns_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    let lower_alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    (1..=MAX_NAME_LEN).contains(&bytes.len())
        && bytes.iter().all(|b| lower_alnum(b) || *b == b'-')
        && bytes.first().is_some_and(lower_alnum)
        && bytes.last().is_some_and(lower_alnum)
}

/// A DNS subdomain: 1–253 characters of `.`-separated DNS labels.
pub fn is_valid_dns_subdomain(value: &str) -> bool {
    (1..=MAX_SUBDOMAIN_LEN).contains(&value.len()) && value.split('.').all(is_valid_dns_label)
}

/// `metadata.namespace`: a DNS label (lower case only).
pub fn is_valid_namespace(value: &str) -> bool {
    is_valid_dns_label(value)
}

/// `kind`: 1–63 characters, a letter followed by letters and digits.
pub fn is_valid_kind(value: &str) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_NAME_LEN).contains(&bytes.len())
        && bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && bytes.iter().all(u8::is_ascii_alphanumeric)
}

/// `apiVersion`: `[group/]version`, group a DNS subdomain, version 1–63 letters and digits.
pub fn is_valid_api_version(value: &str) -> bool {
    is_valid_prefix_and_or_suffix(value, is_valid_dns_subdomain, |suffix| {
        (1..=MAX_NAME_LEN).contains(&suffix.len())
            && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// A label key: `[prefix/]name`, prefix a DNS subdomain, name per [`is_valid_entity_name`].
pub fn is_valid_label_key(value: &str) -> bool {
    is_valid_prefix_and_or_suffix(value, is_valid_dns_subdomain, is_valid_entity_name)
}

/// A label value: empty, or per [`is_valid_entity_name`].
pub fn is_valid_label_value(value: &str) -> bool {
    value.is_empty() || is_valid_entity_name(value)
}

/// An annotation key: same rule as a label key.
pub fn is_valid_annotation_key(value: &str) -> bool {
    is_valid_label_key(value)
}

/// A tag: 1–63 of `[a-z0-9:+#]`, in runs separated by single `-`.
pub fn is_valid_tag(value: &str) -> bool {
    let bytes = value.as_bytes();
    let tag_char =
        |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b':' | b'+' | b'#');
    (1..=MAX_NAME_LEN).contains(&bytes.len())
        && value
            .split('-')
            .all(|run| !run.is_empty() && run.as_bytes().iter().all(tag_char))
}

/// A link URL: anything the WHATWG URL parser accepts as an absolute URL.
pub fn is_valid_url(value: &str) -> bool {
    url::Url::parse(value).is_ok()
}

/// At most one `/`: with it, both parts are checked; without it, the whole value is a suffix.
fn is_valid_prefix_and_or_suffix(
    value: &str,
    prefix_ok: impl Fn(&str) -> bool,
    suffix_ok: impl Fn(&str) -> bool,
) -> bool {
    let parts: Vec<&str> = value.split('/').collect();
    match parts.as_slice() {
        [suffix] => suffix_ok(suffix),
        [prefix, suffix] => prefix_ok(prefix) && suffix_ok(suffix),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_names() {
        for good in [
            "a",
            "A",
            "9",
            "petstore",
            "Foo_Bar.baz-1",
            "a-b",
            "x".repeat(63).as_str(),
        ] {
            assert!(is_valid_entity_name(good), "{good}");
        }
        for bad in [
            "",
            "Foo Bar",
            "-a",
            "a-",
            "_a",
            "a.",
            "é",
            "a/b",
            "x".repeat(64).as_str(),
        ] {
            assert!(!is_valid_entity_name(bad), "{bad}");
        }
    }

    #[test]
    fn dns_labels_and_namespaces() {
        for good in ["default", "a", "a-b", "a--b", "0", "team-1"] {
            assert!(is_valid_namespace(good), "{good}");
        }
        for bad in [
            "",
            "Default",
            "-a",
            "a-",
            "a_b",
            "a.b",
            "x".repeat(64).as_str(),
        ] {
            assert!(!is_valid_namespace(bad), "{bad}");
        }
    }

    #[test]
    fn dns_subdomains() {
        assert!(is_valid_dns_subdomain("backstage.io"));
        assert!(is_valid_dns_subdomain("a.b-c.d"));
        assert!(!is_valid_dns_subdomain("a..b"));
        assert!(!is_valid_dns_subdomain("Backstage.io"));
        assert!(!is_valid_dns_subdomain(""));
        let long = vec!["a".repeat(63); 4].join(".");
        assert_eq!(long.len(), 255);
        assert!(!is_valid_dns_subdomain(&long));
    }

    #[test]
    fn kinds() {
        for good in ["Component", "API", "a", "AiResource2"] {
            assert!(is_valid_kind(good), "{good}");
        }
        for bad in [
            "",
            "1Component",
            "my-kind",
            "my_kind",
            "x".repeat(64).as_str(),
        ] {
            assert!(!is_valid_kind(bad), "{bad}");
        }
    }

    #[test]
    fn api_versions() {
        for good in [
            "backstage.io/v1alpha1",
            "v1",
            "scaffolder.backstage.io/v1beta3",
            "V1",
        ] {
            assert!(is_valid_api_version(good), "{good}");
        }
        for bad in [
            "",
            "backstage.io/",
            "/v1",
            "a/b/c",
            "Backstage.io/v1",
            "backstage.io/v1-alpha",
        ] {
            assert!(!is_valid_api_version(bad), "{bad}");
        }
    }

    #[test]
    fn label_and_annotation_keys_and_values() {
        for good in [
            "backstage.io/view-url",
            "github.com/project-slug",
            "simple",
            "a/B_c",
        ] {
            assert!(is_valid_label_key(good), "{good}");
            assert!(is_valid_annotation_key(good), "{good}");
        }
        for bad in ["", "a/b/c", "Bad.io/x", "x/", "/x", "with space"] {
            assert!(!is_valid_label_key(bad), "{bad}");
        }
        assert!(is_valid_label_value(""));
        assert!(is_valid_label_value("prod"));
        assert!(!is_valid_label_value("not ok"));
    }

    #[test]
    fn tags() {
        for good in [
            "java",
            "c++",
            "c#",
            "a:b",
            "web-app",
            "x".repeat(63).as_str(),
        ] {
            assert!(is_valid_tag(good), "{good}");
        }
        for bad in [
            "",
            "Java",
            "a_b",
            "a.b",
            "-a",
            "a-",
            "a--b",
            "x".repeat(64).as_str(),
        ] {
            assert!(!is_valid_tag(bad), "{bad}");
        }
    }

    #[test]
    fn urls() {
        assert!(is_valid_url("https://example.com/x"));
        assert!(is_valid_url("mailto:team@example.com"));
        assert!(!is_valid_url("example.com"));
        assert!(!is_valid_url("./relative"));
        assert!(!is_valid_url("https://"));
    }
}
