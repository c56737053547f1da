//! Sample domain values, fixed keys and the fixture check shared by the vocabulary tests.

use std::path::PathBuf;

use ed25519_dalek::SigningKey;
use punte_model::{Adaptation, Evaluation, IndicatorDefinition, OrganisationProfile, Practice};
use punte_protocol::multikey::decode_ed25519_private;
use punte_protocol::urls::NodeUrls;
use rsa::RsaPublicKey;
use serde_json::{Value, json};

pub const BASE: &str = "https://punte.example.ro";
pub const OTHER: &str = "https://punte.example.it";

pub fn urls() -> NodeUrls {
    NodeUrls::new(BASE).unwrap()
}

/// The FEP-8b32 test key: a fixed Ed25519 identity key.
pub fn node_key() -> SigningKey {
    decode_ed25519_private("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq").unwrap()
}

/// The RFC 9421 `test-key-rsa` public key (the first, PKCS#1 block of the vector file).
pub fn rsa_public() -> RsaPublicKey {
    let pem = crate::vector("rfc9421/test-key-rsa.pem");
    let end = "-----END RSA PUBLIC KEY-----";
    let first = &pem[..pem.find(end).unwrap() + end.len()];
    punte_protocol::keys::parse_rsa_public_key_pem(first).unwrap()
}

/// Compares `actual` with `tests/fixtures/<name>` (pretty JSON with a final newline); any
/// difference fails. With `PUNTE_BLESS=1` the fixture is (re)written instead: review it.
pub fn check_fixture(name: &str, actual: &Value) {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    let text = format!("{}\n", serde_json::to_string_pretty(actual).unwrap());
    if std::env::var_os("PUNTE_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with PUNTE_BLESS=1 once)", path.display()));
    assert_eq!(text, expected, "{name} changed");
}

pub fn practice() -> Practice {
    serde_json::from_value(json!({
        "id": "0195b3c4-7a1e-7c3e-9f00-5e1a2b3c4d5e",
        "version": 3,
        "title": {"ro": "Școala de după școală", "en": "After-school club"},
        "summary": {"ro": "Sprijin la teme pentru elevi din zone rurale.", "en": "Homework support for pupils in rural areas."},
        "problem": {"ro": "Abandon școlar timpuriu: 15% în județ.\n\nFamiliile lucrează în străinătate.", "en": "Early school leaving of 15% in the county.\n\nParents work abroad."},
        "solution": {"ro": "Mentori voluntari <liceeni> & profesori, de 3 ori pe săptămână.", "en": "Volunteer mentors (\"big siblings\") & teachers, three times a week."},
        "targetGroup": {"ro": "Elevi de 10–14 ani", "en": "Pupils aged 10–14"},
        "resources": {"staffFte": 1.5, "budget": {"amount": 24000.5, "currency": "EUR"}, "durationMonths": 10, "notes": {"en": "Room lent by the town hall"}},
        "evidence": {"en": "Drop-out fell from 15% to 9% in two years."},
        "difficulties": {"en": "Transport in winter."},
        "transferability": {"en": "Any rural school with a volunteer pool."},
        "coreComponents": [{"ro": "Mentorat individual", "en": "One-to-one mentoring"}, {"en": "Weekly contact with parents"}],
        "adaptableComponents": [{"en": "Meal provider"}],
        "themes": ["education", "early-school-leaving"],
        "sdgTargets": ["4.1", "10.2"],
        "originalLanguage": "ro",
        "translations": {"en": {"method": "machineReviewed", "translator": "Ana Pop"}},
        "country": "RO",
        "region": "RO21",
        "period": {"start": "2023-09-01", "end": "2025-06-30"},
        "maturity": "promising",
        "licence": "CC-BY-SA-4.0",
        "createdAt": "2024-01-15T09:00:00Z",
        "updatedAt": "2025-03-14T09:26:53Z"
    }))
    .unwrap()
}

/// A practice with only the required fields.
pub fn minimal_practice() -> Practice {
    serde_json::from_value(json!({
        "id": "p1",
        "version": 1,
        "title": {"it": "Orti sociali"},
        "summary": {"it": "Orti condivisi"},
        "problem": {"it": "Isolamento"},
        "solution": {"it": "Orti in comune"},
        "originalLanguage": "it",
        "country": "IT",
        "maturity": "innovation",
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-01-01T00:00:00Z"
    }))
    .unwrap()
}

pub fn evaluation() -> Evaluation {
    serde_json::from_value(json!({
        "id": "e7",
        "version": 2,
        "subject": {"practice": "0195b3c4-7a1e-7c3e-9f00-5e1a2b3c4d5e", "practiceVersion": 3},
        "title": {"en": "External evaluation 2024"},
        "summary": {"en": "Pre-post comparison in 12 schools."},
        "evaluator": {"name": "Dr. Ioana Radu", "role": "external", "organisation": "Universitatea din București"},
        "method": "prePost",
        "evidenceLevel": 3,
        "period": {"start": "2023-09-01", "end": "2024-06-30"},
        "stage": "results",
        "plan": "e3",
        "dac": {"relevance": {"rating": 4, "comment": {"en": "Fits county priorities"}}, "efficiency": {"rating": 2}},
        "values": [
            {"indicator": "esl-rate@2", "period": {"start": "2023-09-01", "end": "2024-06-30"}, "baseline": 15.0, "target": 10.0, "actual": 9.2, "numerator": 23.0, "denominator": 250.0, "n": 250, "ci": {"lower": 6.1, "upper": 12.3, "level": 0.95}},
            {"indicator": "esl-rate@2", "actual": 8.0, "n": 130, "disaggregation": {"sex": "female"}},
            {"indicator": "esl-rate@2", "target": 10.0, "disaggregation": {"sex": "nonBinary"}, "suppressed": "primary"}
        ],
        "createdAt": "2024-07-01T10:00:00Z",
        "updatedAt": "2024-07-03T10:00:00Z"
    }))
    .unwrap()
}

pub fn indicator() -> IndicatorDefinition {
    serde_json::from_value(json!({
        "code": "esl-rate",
        "version": 2,
        "label": {"en": "Early school leaving rate", "ro": "Rata abandonului școlar"},
        "description": {"en": "Share of pupils who leave before completing lower secondary."},
        "unit": "%",
        "measure": "percentage",
        "direction": "decrease",
        "numerator": {"en": "Pupils who left"},
        "denominator": {"en": "Pupils enrolled"},
        "aggregation": "ratioOfSums",
        "disaggregations": [
            {"dimension": "sex", "categories": ["female", "male", "nonBinary", "unknown"]},
            {"dimension": "age", "categories": ["0-14", "15-24"]}
        ],
        "mappings": {"esf": ["EECO01"], "sdg": ["4.1.1"]}
    }))
    .unwrap()
}

pub fn adaptation() -> Adaptation {
    serde_json::from_value(json!({
        "id": "a9",
        "version": 1,
        "origin": {"practice": "https://punte.example.it/practices/p1", "version": 1, "organisation": "https://punte.example.it/actor"},
        "title": {"ro": "Grădini comunitare în Iași"},
        "context": {"ro": "Cartier de blocuri, 3.000 de locuitori"},
        "country": "RO",
        "modifications": [{
            "what": {"ro": "Program de weekend"},
            "nature": "substituting",
            "when": "preImplementation",
            "planned": true,
            "decidedBy": "programme team",
            "reasonCategory": "recipient",
            "reason": {"ro": "Locuitorii lucrează în timpul săptămânii"},
            "fidelityConsistent": true
        }],
        "fidelity": {"coreComponentsKept": [0, 2], "notes": {"ro": "Fără componenta de compost"}},
        "scaling": "horizontal",
        "state": "piloting",
        "createdAt": "2025-02-01T08:00:00Z",
        "updatedAt": "2025-02-01T08:00:00Z"
    }))
    .unwrap()
}

pub fn profile() -> OrganisationProfile {
    serde_json::from_value(json!({
        "name": {"ro": "Asociația Punte Iași", "en": "Punte Association Iași"},
        "country": "RO",
        "region": "RO21",
        "languages": ["ro", "en"],
        "summary": {"ro": "Educație & incluziune în nord-est.", "en": "Education & inclusion in the north-east."}
    }))
    .unwrap()
}
