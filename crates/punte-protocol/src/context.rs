//! The Punte JSON-LD context (`https://w3id.org/punte/v1`, served by every node at
//! `BASE/ns/v1`) and the `@context` arrays Punte documents carry.
//!
//! Every Punte term lives in the `punte:` namespace (`https://w3id.org/punte/ns#`). Terms that
//! hold multilingual text are `@language` maps, references are `@id`, numbers and dates carry
//! XML Schema types. No term redefines one of ActivityStreams, Data Integrity, DID or Multikey.

use serde_json::{Map, Value, json};

/// The context IRI Punte documents name in their `@context`.
pub const PUNTE_CONTEXT_IRI: &str = "https://w3id.org/punte/v1";
/// The vocabulary namespace of Punte terms.
pub const PUNTE_NAMESPACE: &str = "https://w3id.org/punte/ns#";
/// ActivityStreams 2.0.
pub const ACTIVITYSTREAMS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
/// W3C Data Integrity v2 (defines `proof`, `DataIntegrityProof`, …).
pub const DATA_INTEGRITY_CONTEXT: &str = "https://w3id.org/security/data-integrity/v2";
/// Security v1 (defines `publicKey`, `publicKeyPem`, `owner`).
pub const SECURITY_V1_CONTEXT: &str = "https://w3id.org/security/v1";
/// DID v1 (defines `assertionMethod`).
pub const DID_CONTEXT: &str = "https://www.w3.org/ns/did/v1";
/// Multikey v1 (defines `Multikey`, `controller`, `publicKeyMultibase`).
pub const MULTIKEY_CONTEXT: &str = "https://w3id.org/security/multikey/v1";

/// The `@context` of every activity and standalone object: ActivityStreams, Data Integrity
/// (for the proof) and Punte.
pub fn activity_context() -> Value {
    json!([
        ACTIVITYSTREAMS_CONTEXT,
        DATA_INTEGRITY_CONTEXT,
        PUNTE_CONTEXT_IRI
    ])
}

/// The `@context` of the actor document. Besides ActivityStreams and Punte it names Security
/// v1 (`publicKey`), DID v1 (`assertionMethod`) and Multikey v1, the contexts Fedify and
/// Mastodon expect an actor's keys to be defined by.
pub fn actor_context() -> Value {
    json!([
        ACTIVITYSTREAMS_CONTEXT,
        SECURITY_V1_CONTEXT,
        DID_CONTEXT,
        MULTIKEY_CONTEXT,
        PUNTE_CONTEXT_IRI
    ])
}

/// How a term of the Punte context is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A class (`Practice`): maps to its IRI.
    Class,
    /// A plain property (strings, nested objects).
    Plain,
    /// A reference to another resource (`@type: @id`).
    Id,
    /// Multilingual text (`@container: @language`).
    Language,
    /// An ordered list (`@container: @list`).
    List,
    /// An unordered set of plain values (`@container: @set`).
    Set,
    /// A map whose keys are data (`@container: @index`).
    Index,
    /// A typed literal, `xsd:…`.
    Typed(&'static str),
}

/// Every term of the Punte context, with its kind. The single source of the context
/// document, so a test can walk it.
const TERMS: &[(&str, Kind)] = &[
    // classes
    ("Practice", Kind::Class),
    ("Evaluation", Kind::Class),
    ("IndicatorDefinition", Kind::Class),
    ("Adaptation", Kind::Class),
    ("Attestation", Kind::Class),
    // shared
    ("version", Kind::Typed("xsd:nonNegativeInteger")),
    ("summaryText", Kind::Language),
    ("country", Kind::Plain),
    ("region", Kind::Plain),
    ("period", Kind::Plain),
    ("start", Kind::Typed("xsd:date")),
    ("end", Kind::Typed("xsd:date")),
    ("notes", Kind::Language),
    ("method", Kind::Plain),
    // practice
    ("problem", Kind::Language),
    ("solution", Kind::Language),
    ("targetGroup", Kind::Language),
    ("resources", Kind::Plain),
    ("staffFte", Kind::Typed("xsd:double")),
    ("budget", Kind::Plain),
    ("amount", Kind::Typed("xsd:double")),
    ("currency", Kind::Plain),
    ("durationMonths", Kind::Typed("xsd:nonNegativeInteger")),
    ("evidence", Kind::Language),
    ("difficulties", Kind::Language),
    ("transferability", Kind::Language),
    ("coreComponents", Kind::List),
    ("adaptableComponents", Kind::List),
    ("sdgTargets", Kind::Set),
    ("originalLanguage", Kind::Typed("xsd:language")),
    ("translations", Kind::Index),
    ("translator", Kind::Plain),
    ("maturity", Kind::Plain),
    ("licence", Kind::Plain),
    // evaluation
    ("evaluates", Kind::Plain),
    ("practice", Kind::Id),
    ("practiceVersion", Kind::Typed("xsd:nonNegativeInteger")),
    ("adaptation", Kind::Id),
    ("evaluator", Kind::Plain),
    ("role", Kind::Plain),
    ("affiliation", Kind::Plain),
    ("evidenceLevel", Kind::Typed("xsd:integer")),
    ("stage", Kind::Plain),
    ("plan", Kind::Id),
    ("dac", Kind::Plain),
    ("relevance", Kind::Plain),
    ("coherence", Kind::Plain),
    ("effectiveness", Kind::Plain),
    ("efficiency", Kind::Plain),
    ("impact", Kind::Plain),
    ("sustainability", Kind::Plain),
    ("rating", Kind::Typed("xsd:integer")),
    ("comment", Kind::Language),
    ("indicatorValues", Kind::List),
    ("indicator", Kind::Plain),
    ("baselineValue", Kind::Typed("xsd:double")),
    ("targetValue", Kind::Typed("xsd:double")),
    ("actualValue", Kind::Typed("xsd:double")),
    ("numeratorValue", Kind::Typed("xsd:double")),
    ("denominatorValue", Kind::Typed("xsd:double")),
    ("sampleSize", Kind::Typed("xsd:nonNegativeInteger")),
    ("confidenceInterval", Kind::Plain),
    ("lower", Kind::Typed("xsd:double")),
    ("upper", Kind::Typed("xsd:double")),
    ("level", Kind::Typed("xsd:double")),
    ("disaggregation", Kind::Index),
    ("suppressed", Kind::Plain),
    // indicator values per group and time point (wire v1.1)
    ("groups", Kind::Plain),
    ("intervention", Kind::Plain),
    ("comparison", Kind::Plain),
    ("baseline", Kind::Plain),
    ("followUp", Kind::Plain),
    ("events", Kind::Typed("xsd:nonNegativeInteger")),
    ("mean", Kind::Typed("xsd:double")),
    ("sd", Kind::Typed("xsd:double")),
    ("se", Kind::Typed("xsd:double")),
    ("correlation", Kind::Typed("xsd:double")),
    // indicator definition
    ("code", Kind::Plain),
    ("description", Kind::Language),
    ("unit", Kind::Plain),
    ("measure", Kind::Plain),
    ("direction", Kind::Plain),
    ("numerator", Kind::Language),
    ("denominator", Kind::Language),
    ("aggregation", Kind::Plain),
    ("disaggregations", Kind::List),
    ("dimension", Kind::Plain),
    ("categories", Kind::List),
    ("mappings", Kind::Plain),
    ("esf", Kind::Set),
    ("sdg", Kind::Set),
    // adaptation
    ("adapts", Kind::Plain),
    ("organisation", Kind::Id),
    ("localContext", Kind::Language),
    ("modifications", Kind::List),
    ("what", Kind::Language),
    ("nature", Kind::Plain),
    ("when", Kind::Plain),
    ("planned", Kind::Typed("xsd:boolean")),
    ("decidedBy", Kind::Plain),
    ("reasonCategory", Kind::Plain),
    ("reason", Kind::Language),
    ("fidelityConsistent", Kind::Typed("xsd:boolean")),
    ("fidelity", Kind::Plain),
    ("coreComponentsKept", Kind::List),
    ("scaling", Kind::Plain),
    ("state", Kind::Plain),
    // attestation (a countersigned adaptation)
    ("attests", Kind::Id),
    ("adopter", Kind::Id),
    ("adaptationVersion", Kind::Typed("xsd:nonNegativeInteger")),
    // organisation (actor)
    ("languages", Kind::Set),
    ("language", Kind::Typed("xsd:language")),
    // network membership (published by a coordinator)
    ("MembershipList", Kind::Class),
    ("members", Kind::List),
    ("identityKey", Kind::Plain),
    ("witnessKey", Kind::Plain),
    ("joined", Kind::Typed("xsd:date")),
    ("left", Kind::Typed("xsd:date")),
    ("change", Kind::Plain),
    ("action", Kind::Plain),
];

/// The Punte context document, as served at `BASE/ns/v1` (`application/ld+json`).
///
/// JSON-LD 1.1 (`translations` is a property-valued index map keyed by `language`). Also
/// defines `Hashtag` and `manuallyApprovesFollowers` in the ActivityStreams namespace, which
/// the published ActivityStreams context leaves out.
pub fn context_document() -> Value {
    let mut ctx = Map::new();
    ctx.insert("@version".to_owned(), json!(1.1));
    ctx.insert("punte".to_owned(), json!(PUNTE_NAMESPACE));
    ctx.insert("xsd".to_owned(), json!("http://www.w3.org/2001/XMLSchema#"));
    ctx.insert(
        "Hashtag".to_owned(),
        json!("https://www.w3.org/ns/activitystreams#Hashtag"),
    );
    ctx.insert(
        "manuallyApprovesFollowers".to_owned(),
        json!("https://www.w3.org/ns/activitystreams#manuallyApprovesFollowers"),
    );
    for (term, kind) in TERMS {
        let id = format!("punte:{term}");
        let definition = match kind {
            Kind::Class | Kind::Plain => json!(id),
            Kind::Id => json!({"@id": id, "@type": "@id"}),
            Kind::Language => json!({"@id": id, "@container": "@language"}),
            Kind::List => json!({"@id": id, "@container": "@list"}),
            Kind::Set => json!({"@id": id, "@container": "@set"}),
            Kind::Index if *term == "translations" => {
                json!({"@id": id, "@container": "@index", "@index": "language"})
            }
            Kind::Index => json!({"@id": id, "@container": "@index"}),
            Kind::Typed(xsd) => json!({"@id": id, "@type": xsd}),
        };
        ctx.insert((*term).to_owned(), definition);
    }
    json!({ "@context": Value::Object(ctx) })
}

/// Whether `term` is defined by the Punte context document.
pub fn defines(term: &str) -> bool {
    matches!(
        term,
        "punte" | "xsd" | "Hashtag" | "manuallyApprovesFollowers"
    ) || TERMS.iter().any(|(t, _)| *t == term)
}
