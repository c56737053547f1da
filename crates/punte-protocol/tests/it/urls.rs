//! Node URLs and origin checks.

use punte_protocol::urls::{
    Collection, NodeUrls, base_of_actor, is_local_id, origin_of, percent_encode, same_origin,
};

#[test]
fn origins() {
    let ok = [
        ("https://Punte.Example.ro/actor", "https://punte.example.ro"),
        ("HTTPS://a.example:8443/x?y#z", "https://a.example:8443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:8080/inbox", "http://[::1]:8080"),
        ("http://[::1]/inbox", "http://[::1]"),
        ("https://a.example?q", "https://a.example"),
    ];
    for (url, origin) in ok {
        assert_eq!(origin_of(url).unwrap(), origin, "{url}");
    }
    for bad in [
        "ftp://a.example/x",
        "https://",
        "https:///x",
        "https://user@a.example/",
        "https://a.example:/",
        "https://a.example:99999999/",
        "https://a example/",
        "https://a.example/\n",
        "//a.example/x",
        "a.example",
        "https://[::1/x",
        "https://-a.example/",
    ] {
        assert!(origin_of(bad).is_err(), "{bad}");
    }
    assert!(origin_of(&format!("https://a.example/{}", "x".repeat(3000))).is_err());
    assert!(same_origin("https://a.example/x", "https://A.example/y"));
    assert!(!same_origin("https://a.example/x", "http://a.example/x"));
    assert!(!same_origin(
        "https://a.example/x",
        "https://a.example.evil/x"
    ));
}

#[test]
fn node_urls() {
    let u = NodeUrls::new("https://Punte.Example.ro/").unwrap();
    assert_eq!(u.base(), "https://punte.example.ro");
    assert_eq!(u.actor(), "https://punte.example.ro/actor");
    assert_eq!(u.context_document(), "https://punte.example.ro/ns/v1");
    assert_eq!(u.activity("u1"), "https://punte.example.ro/activities/u1");
    assert_eq!(
        u.indicator(&"esl-rate@2".parse().unwrap()),
        "https://punte.example.ro/indicators/esl-rate@2"
    );
    assert_eq!(
        u.local_id(
            Collection::Practices,
            "https://punte.example.ro/practices/p-1"
        ),
        Some("p-1")
    );
    assert_eq!(
        u.local_id(
            Collection::Practices,
            "https://punte.example.ro/practices/a/b"
        ),
        None
    );
    assert_eq!(
        u.local_id(
            Collection::Evaluations,
            "https://punte.example.ro/practices/p"
        ),
        None
    );
    assert_eq!(
        u.local_id(Collection::Practices, "https://other.example/practices/p"),
        None
    );
    assert!(u.owns("https://PUNTE.example.ro/x"));
    for bad in [
        "https://a.example/base",
        "https://a.example?x",
        "https://a.example#f",
        "a.example",
    ] {
        assert!(NodeUrls::new(bad).is_err(), "{bad}");
    }
    assert!(is_local_id("0195b3c4-7a1e-7c3e-9f00-5e1a2b3c4d5e"));
    assert!(is_local_id("esl-rate@2"));
    for bad in ["", ".", "..", "a/b", "a b", "a%2F", "ă"] {
        assert!(!is_local_id(bad), "{bad}");
    }
}

#[test]
fn query_values_are_percent_encoded_as_rfc_3986_says() {
    // RFC 3986 §2.3: unreserved characters stay; §2.5: other text as UTF-8 octets, and
    // §2.1: upper-case hex digits
    assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
    assert_eq!(
        percent_encode("example.org/punte-log"),
        "example.org%2Fpunte-log"
    );
    assert_eq!(percent_encode("a b+c&d=e"), "a%20b%2Bc%26d%3De");
    assert_eq!(percent_encode("acct:ana@ngo.ro"), "acct%3Aana%40ngo.ro");
    assert_eq!(percent_encode("Ştefăneşti"), "%C5%9Etef%C4%83ne%C5%9Fti");
}

#[test]
fn a_base_is_its_actor_id_without_actor() {
    assert_eq!(
        base_of_actor("https://ngo.example.org/actor"),
        Some("https://ngo.example.org")
    );
    assert_eq!(base_of_actor("https://ngo.example.org/users/ana"), None);
}
