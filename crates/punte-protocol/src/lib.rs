//! Punte wire format: JCS, FEP-521a Multikeys, FEP-8b32 `eddsa-jcs-2022` proofs, actor keys,
//! HTTP message signatures (RFC 9421 and draft-cavage), WebFinger and NodeInfo.
//!
//! Architecture invariant: this crate is pure. It does no I/O, reads no clock and draws no
//! randomness; time, keys and bytes are parameters. Every verification returns a typed value
//! (`VerifiedProof`, `VerifiedSignature`) and nothing here panics on remote input.

pub mod httpsig;
pub mod jcs;
pub mod keys;
pub mod multikey;
pub mod nodeinfo;
pub mod proof;
pub mod timestamp;
pub mod webfinger;
