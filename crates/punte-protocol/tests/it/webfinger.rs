//! WebFinger acct parsing and JRD / NodeInfo wire shapes.

use punte_protocol::nodeinfo::{NODEINFO_21_REL, NodeInfo, NodeInfoDiscovery, Usage, UsageUsers};
use punte_protocol::webfinger::{Acct, Jrd};
use serde_json::json;

#[test]
fn acct_uris_and_handles() {
    let a = Acct::parse_uri("acct:ngo-ro@Punte.Example").unwrap();
    assert_eq!(
        (a.user.as_str(), a.host.as_str()),
        ("ngo-ro", "punte.example")
    );
    assert_eq!(a.to_uri(), "acct:ngo-ro@punte.example");
    assert_eq!(
        Acct::parse_handle("@ngo-ro@punte.example:8443")
            .unwrap()
            .host,
        "punte.example:8443"
    );
    assert_eq!(Acct::parse_uri("ACCT:x@h").unwrap().user, "x");
    for bad in [
        "ngo@punte.example",
        "acct:@h",
        "acct:u@",
        "acct:u@h/x",
        "acct:u h@h",
        "acct:",
        "acct:u@-h",
        "https://h/u",
    ] {
        assert!(Acct::parse_uri(bad).is_err(), "{bad}");
    }
}

#[test]
fn jrd_for_actor_and_back() {
    let acct = Acct::parse_uri("acct:ngo@punte.example").unwrap();
    let jrd = Jrd::for_actor(
        &acct,
        "https://punte.example/actor",
        Some("https://punte.example/"),
    );
    let wire = serde_json::to_value(&jrd).unwrap();
    assert_eq!(
        wire,
        json!({
            "subject": "acct:ngo@punte.example",
            "aliases": ["https://punte.example/actor"],
            "links": [
                {"rel": "self", "type": "application/activity+json", "href": "https://punte.example/actor"},
                {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": "https://punte.example/"}
            ]
        })
    );
    // A Mastodon-style JRD with a template link and ld+json self link parses.
    let mastodon: Jrd = serde_json::from_value(json!({
        "subject": "acct:a@m.example",
        "links": [
            {"rel": "http://ostatus.org/schema/1.0/subscribe", "template": "https://m.example/authorize_interaction?uri={uri}"},
            {"rel": "self", "type": "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"", "href": "https://m.example/users/a"}
        ]
    })).unwrap();
    assert_eq!(mastodon.actor_url(), Some("https://m.example/users/a"));
}

#[test]
fn nodeinfo_2_1_shape() {
    let discovery =
        serde_json::to_value(NodeInfoDiscovery::v2_1("https://p.example/nodeinfo/2.1")).unwrap();
    assert_eq!(discovery["links"][0]["rel"], NODEINFO_21_REL);
    let usage = Usage {
        users: UsageUsers {
            total: Some(1),
            active_halfyear: Some(1),
            active_month: Some(1),
        },
        local_posts: Some(12),
    };
    let doc = serde_json::to_value(NodeInfo::v2_1("punte", "0.1.0", usage)).unwrap();
    assert_eq!(
        doc,
        json!({
            "version": "2.1",
            "software": {"name": "punte", "version": "0.1.0"},
            "protocols": ["activitypub"],
            "services": {"inbound": [], "outbound": []},
            "openRegistrations": false,
            "usage": {"users": {"total": 1, "activeHalfyear": 1, "activeMonth": 1}, "localPosts": 12},
            "metadata": {}
        })
    );
    let back: NodeInfo = serde_json::from_value(doc).unwrap();
    assert_eq!(back.software.name, "punte");
}
