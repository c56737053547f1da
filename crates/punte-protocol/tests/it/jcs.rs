//! RFC 8785 known answers from the reference implementation's test data.

use punte_protocol::jcs::canonicalize;

use crate::vector;

fn check(name: &str) {
    let input: serde_json::Value =
        serde_json::from_str(&vector(&format!("jcs/{name}.input.json"))).unwrap();
    let expected = vector(&format!("jcs/{name}.output.json"));
    let got = canonicalize(&input).unwrap();
    assert_eq!(String::from_utf8(got).unwrap(), expected, "{name}");
}

#[test]
fn rfc8785_reference_vectors() {
    for name in [
        "values",
        "weird",
        "structures",
        "unicode",
        "french",
        "simpleString",
    ] {
        check(name);
    }
}

#[test]
fn rfc8785_es6_number_samples() {
    // Sample lines of the ES6 number test file, cyberphone/json-canonicalization testdata/README.md.
    for (hex, expected) in [
        ("4340000000000001", "9007199254740994"),
        ("4340000000000002", "9007199254740996"),
        ("444b1ae4d6e2ef50", "1e+21"),
        ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
        ("8000000000000000", "0"),
        ("0", "0"),
    ] {
        let bits = u64::from_str_radix(hex, 16).unwrap();
        let value = serde_json::Value::from(f64::from_bits(bits));
        assert_eq!(
            String::from_utf8(canonicalize(&value).unwrap()).unwrap(),
            expected,
            "{hex}"
        );
    }
}
