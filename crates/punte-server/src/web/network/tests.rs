use super::*;

#[test]
fn handles_name_the_user_and_host() {
    assert_eq!(
        handle_of("https://ro.example/actor", Some("node")),
        "node@ro.example"
    );
    assert_eq!(
        handle_of("http://127.0.0.1:8080/actor", None),
        "127.0.0.1:8080"
    );
}

#[test]
fn anchors_are_stable_and_url_safe() {
    let a = anchor_of("https://ro.example/practices/1");
    assert_eq!(a, anchor_of("https://ro.example/practices/1"));
    assert_ne!(a, anchor_of("https://ro.example/practices/2"));
    assert_eq!(a.len(), 18);
    assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
}

#[test]
fn refused_outcomes_are_told_apart() {
    assert!(refused("object refused: bad id"));
    assert!(refused("not applied: no embedded object"));
    assert!(!refused("practice replicated"));
    assert!(!refused("follow accepted"));
}
