//! Path globs as Backstage's readers match them (minimatch defaults): `*` and `?` stay within one
//! path segment, `**` spans segments, `[a-z]` classes, `{a,b}` alternatives, and wildcards do not
//! match a leading `.` unless the pattern spells it.

/// Whether `s` contains glob syntax.
pub(crate) fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// More alternatives than this from `{a,b}` expansion means a hostile or broken pattern.
const MAX_ALTERNATIVES: usize = 256;

#[derive(Debug, Clone)]
pub(crate) struct GlobPattern {
    alternatives: Vec<Vec<Segment>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    /// `**`: any number of segments, none hidden.
    AnyDepth,
    Tokens(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    AnyRun,
    AnyChar,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl GlobPattern {
    /// Compiles a repository-relative pattern; a leading `/` or `./` is ignored.
    pub(crate) fn new(pattern: &str) -> Self {
        let trimmed = pattern.trim_start_matches("./").trim_start_matches('/');
        let alternatives = expand_braces(trimmed)
            .iter()
            .map(|alt| {
                alt.split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        if s == "**" {
                            Segment::AnyDepth
                        } else {
                            Segment::Tokens(tokenize(s))
                        }
                    })
                    .collect()
            })
            .collect();
        Self { alternatives }
    }

    /// Whether a repository-relative file path (no leading `/`) matches.
    pub(crate) fn matches(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.alternatives
            .iter()
            .any(|alt| match_segments(alt, &segments))
    }
}

fn match_segments(pattern: &[Segment], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((Segment::AnyDepth, rest)) => {
            // Zero segments, or swallow one visible segment and try again.
            if match_segments(rest, path) {
                return true;
            }
            match path.split_first() {
                Some((first, tail)) if !first.starts_with('.') => match_segments(pattern, tail),
                _ => false,
            }
        }
        Some((Segment::Tokens(tokens), rest)) => match path.split_first() {
            Some((first, tail)) => match_segment(tokens, first) && match_segments(rest, tail),
            None => false,
        },
    }
}

fn match_segment(tokens: &[Token], segment: &str) -> bool {
    if segment.starts_with('.') && tokens.first() != Some(&Token::Literal('.')) {
        return false;
    }
    let chars: Vec<char> = segment.chars().collect();
    match_tokens(tokens, &chars)
}

fn match_tokens(tokens: &[Token], chars: &[char]) -> bool {
    match tokens.split_first() {
        None => chars.is_empty(),
        Some((Token::AnyRun, rest)) => (0..=chars.len()).any(|i| match_tokens(rest, &chars[i..])),
        Some((token, rest)) => match chars.split_first() {
            Some((c, tail)) => token_matches(token, *c) && match_tokens(rest, tail),
            None => false,
        },
    }
}

fn token_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(l) => *l == c,
        Token::AnyChar => true,
        Token::AnyRun => true,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
        }
    }
}

fn tokenize(segment: &str) -> Vec<Token> {
    let chars: Vec<char> = segment.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                // `a**b` within a segment behaves like `a*b`.
                if tokens.last() != Some(&Token::AnyRun) {
                    tokens.push(Token::AnyRun);
                }
                i += 1;
            }
            '?' => {
                tokens.push(Token::AnyChar);
                i += 1;
            }
            '\\' if i + 1 < chars.len() => {
                tokens.push(Token::Literal(chars[i + 1]));
                i += 2;
            }
            '[' => match parse_class(&chars[i + 1..]) {
                Some((token, used)) => {
                    tokens.push(token);
                    i += used + 1;
                }
                None => {
                    tokens.push(Token::Literal('['));
                    i += 1;
                }
            },
            c => {
                tokens.push(Token::Literal(c));
                i += 1;
            }
        }
    }
    tokens
}

/// Parses the inside of `[...]`; returns the token and the characters used including `]`.
fn parse_class(chars: &[char]) -> Option<(Token, usize)> {
    let mut i = 0;
    let negated = matches!(chars.first(), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let start = i;
    while i < chars.len() {
        let c = chars[i];
        if c == ']' && i > start {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        if i + 2 < chars.len() && chars[i + 1] == '-' && chars[i + 2] != ']' {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    None
}

/// `a{b,c}d` → `abd`, `acd`; nested braces expand too. A brace without a matching close or
/// without a comma stays literal, as in minimatch.
fn expand_braces(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(pattern, &mut out);
    out
}

fn expand_into(pattern: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_ALTERNATIVES {
        return;
    }
    let Some((open, close, parts)) = first_brace_group(pattern) else {
        out.push(pattern.to_string());
        return;
    };
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    for part in parts {
        expand_into(&format!("{head}{part}{tail}"), out);
    }
}

fn first_brace_group(pattern: &str) -> Option<(usize, usize, Vec<&str>)> {
    let bytes = pattern.as_bytes();
    let mut search_from = 0;
    while let Some(rel) = pattern[search_from..].find('{') {
        let open = search_from + rel;
        let mut depth = 0;
        let mut commas = Vec::new();
        for (i, b) in bytes.iter().enumerate().skip(open) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        if commas.is_empty() {
                            break;
                        }
                        let mut parts = Vec::new();
                        let mut start = open + 1;
                        for c in &commas {
                            parts.push(&pattern[start..*c]);
                            start = c + 1;
                        }
                        parts.push(&pattern[start..i]);
                        return Some((open, i, parts));
                    }
                }
                b',' if depth == 1 => commas.push(i),
                _ => {}
            }
        }
        search_from = open + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        GlobPattern::new(pattern).matches(path)
    }

    #[test]
    fn stars_stay_in_a_segment() {
        assert!(m("/catalog-info.yaml", "catalog-info.yaml"));
        assert!(m("*.yaml", "a.yaml"));
        assert!(!m("*.yaml", "dir/a.yaml"));
        assert!(m(
            "services/*/catalog-info.yaml",
            "services/a/catalog-info.yaml"
        ));
        assert!(!m(
            "services/*/catalog-info.yaml",
            "services/a/b/catalog-info.yaml"
        ));
        assert!(m("cat?log.yaml", "catalog.yaml"));
    }

    #[test]
    fn double_star_spans_directories() {
        let p = "/**/catalog-info.yaml";
        assert!(m(p, "catalog-info.yaml"));
        assert!(m(p, "a/b/c/catalog-info.yaml"));
        assert!(!m(p, "a/b/other.yaml"));
        assert!(m("docs/**", "docs/a/b.md"));
        assert!(m("a/**/b/*.yaml", "a/x/y/b/z.yaml"));
    }

    #[test]
    fn hidden_segments_need_an_explicit_dot() {
        assert!(!m("**/catalog-info.yaml", ".github/catalog-info.yaml"));
        assert!(!m("*", ".hidden"));
        assert!(m(".github/*.yaml", ".github/catalog-info.yaml"));
        assert!(m(".*/*.yaml", ".github/x.yaml"));
    }

    #[test]
    fn braces_and_classes() {
        assert!(m("**/catalog-info.{yaml,yml}", "a/catalog-info.yml"));
        assert!(m("**/catalog-info.{yaml,yml}", "catalog-info.yaml"));
        assert!(!m("**/catalog-info.{yaml,yml}", "catalog-info.json"));
        assert!(m("[a-c]*.yaml", "beta.yaml"));
        assert!(!m("[!a-c]*.yaml", "beta.yaml"));
        assert!(
            m("{x}.yaml", "{x}.yaml"),
            "a group without comma is literal"
        );
        assert!(m("a{,b}.yaml", "a.yaml"));
    }

    #[test]
    fn odd_names_match_literally() {
        let path = "skeleton/${{ values.name }}.yaml";
        assert!(m("skeleton/*.yaml", path));
        assert!(has_glob("/**/x.yaml"));
        assert!(!has_glob("/catalog-info.yaml"));
    }

    #[test]
    fn brace_bombs_are_capped() {
        let bomb = "{a,b}".repeat(20);
        let p = GlobPattern::new(&bomb);
        assert!(p.alternatives.len() <= MAX_ALTERNATIVES);
    }
}
