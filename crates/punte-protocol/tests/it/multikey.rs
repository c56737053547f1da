//! FEP-521a Multikey encoding against the vc-di-eddsa key pair (`TestVectors/keyPair.json`),
//! which FEP-521a and FEP-8b32 use too.

use punte_protocol::multikey::{
    MultikeyError, decode_base58btc, decode_ed25519_private, decode_ed25519_public,
    encode_base58btc, encode_ed25519_private, encode_ed25519_public,
};

use crate::vector_json;

#[test]
fn published_key_pair_round_trips_and_matches() {
    let pair = vector_json("vc-di-eddsa/keyPair.json");
    let public = pair["publicKeyMultibase"].as_str().unwrap();
    let private = pair["privateKeyMultibase"].as_str().unwrap();
    let secret = decode_ed25519_private(private).unwrap();
    // The public key derived from the published secret encodes to the published public key.
    assert_eq!(encode_ed25519_public(&secret.verifying_key()), public);
    assert_eq!(
        decode_ed25519_public(public).unwrap(),
        secret.verifying_key()
    );
    assert_eq!(encode_ed25519_private(&secret), private);
    assert!(public.starts_with("z6Mk"));
}

#[test]
fn rfc9421_ed25519_key_as_multikey_is_consistent() {
    // RFC 9421 B.1.4 JWK x, base64url; re-encoded as Multikey and decoded back.
    use base64::Engine;
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode("JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs")
        .unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap();
    let mk = encode_ed25519_public(&key);
    assert_eq!(decode_ed25519_public(&mk).unwrap(), key);
}

#[test]
fn strict_decoding_errors() {
    let public = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
    assert_eq!(
        decode_ed25519_public(&public[1..]),
        Err(MultikeyError::NotBase58Btc)
    );
    assert_eq!(
        decode_ed25519_public("u6MkrJVnaZ"),
        Err(MultikeyError::NotBase58Btc)
    );
    assert!(matches!(
        decode_ed25519_public("z0OIl"),
        Err(MultikeyError::Base58(_))
    ));
    // A private key where a public one is expected: wrong codec.
    let private = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq";
    assert!(matches!(
        decode_ed25519_public(private),
        Err(MultikeyError::WrongCodec { .. })
    ));
    assert!(matches!(
        decode_ed25519_private(public),
        Err(MultikeyError::WrongCodec { .. })
    ));
    // Right codec, wrong length.
    let mut short = vec![0xed, 0x01];
    short.extend_from_slice(&[7u8; 31]);
    assert_eq!(
        decode_ed25519_public(&encode_base58btc(&short)),
        Err(MultikeyError::WrongLength(31))
    );
    assert_eq!(decode_base58btc("z").unwrap(), Vec::<u8>::new());
    assert_eq!(
        decode_ed25519_public("z"),
        Err(MultikeyError::WrongCodec {
            expected: [0xed, 0x01],
            found: vec![]
        })
    );
}
