use super::*;

#[test]
fn referrers_fallback_tags() {
    let cases = [
        (format!("sha256:{}", "a".repeat(64)), format!("sha256-{}", "a".repeat(64))),
        (format!("sha512:{}", "b".repeat(128)), format!("sha512-{}", "b".repeat(64))),
    ];
    for (digest, tag) in cases {
        assert_eq!(referrers_fallback_tag(&Digest::parse(&digest).unwrap()), tag);
    }
}

#[test]
fn scopes_and_queries() {
    assert_eq!(pull_scope("library/busybox"), "repository:library/busybox:pull");
    assert_eq!(strip_query("http://a/token?service=x&scope=y"), "http://a/token");
    assert_eq!(strip_query("http://a/token"), "http://a/token");
}
