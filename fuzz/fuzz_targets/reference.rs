//! Reference, digest and URL parsing on arbitrary text: nothing may panic, and whatever
//! parses must print back to something that parses to the same value.

#![no_main]

use imagescope_core::digest::Digest;
use imagescope_core::reference::Reference;
use imagescope_core::url::{parse_query, Url};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    check_reference(s);
    check_digest(s);
    check_url(s);
});

fn check_reference(s: &str) {
    let Ok(r) = Reference::parse(s) else {
        return;
    };
    assert_eq!(Reference::parse(&r.full()).as_ref(), Ok(&r), "full() of {s:?}");
    let canonical = Reference::parse(&r.canonical()).expect("canonical() parses");
    assert_eq!(canonical.canonical(), r.canonical(), "canonical() of {s:?} is stable");
    assert_eq!(canonical.manifest_reference(), r.manifest_reference());
    assert!(canonical.tag().is_some() != canonical.digest().is_some());
    let _ = r.familiar();
    let endpoint = r.endpoint(&[]);
    assert!(endpoint.base_url().starts_with("http"));
}

fn check_digest(s: &str) {
    let Ok(d) = Digest::parse(s) else {
        return;
    };
    assert_eq!(d.to_string(), s, "a parsed digest prints as its input");
    assert_eq!(d.hex().len(), d.algorithm().hex_len());
    assert_eq!(d.short().len(), 12);
}

fn check_url(s: &str) {
    let base = Url::parse("https://registry.example/v2/app/tags/list?n=10").expect("base URL");
    if let Ok(joined) = base.join(s) {
        assert_eq!(Url::parse(&joined.to_string()).as_ref(), Ok(&joined), "join({s:?})");
    }
    let mid = (s.len() / 2..=s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len());
    let (key, value) = s.split_at(mid);
    let with_pair = base.with_query_pairs(&[(key, value)]);
    let pairs = parse_query(with_pair.query().expect("query"));
    assert_eq!(pairs.last(), Some(&(key.to_owned(), value.to_owned())), "query pair {s:?}");

    let Ok(url) = Url::parse(s) else {
        return;
    };
    assert_eq!(Url::parse(&url.to_string()).as_ref(), Ok(&url), "display of {s:?}");
    assert!(url.path().starts_with('/'));
    assert_eq!(url.join(s).as_ref(), Ok(&url));
    let _ = (url.origin(), url.host_is_loopback(), url.host_is_private_or_link_local_ip());
}
