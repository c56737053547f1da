//! Punte wire format: the ActivityStreams vocabulary of Punte objects (JSON-LD context, objects,
//! activities, the node actor), JCS, FEP-521a Multikeys, FEP-8b32 `eddsa-jcs-2022` proofs,
//! actor keys, HTTP message signatures (RFC 9421 and draft-cavage), WebFinger and NodeInfo.
//!
//! Architecture invariant: this crate is pure. It does no I/O, reads no clock and draws no
//! randomness; time, keys and bytes are parameters. Every verification returns a typed value
//! (`VerifiedProof`, `VerifiedSignature`) and nothing here panics on remote input.
//!
//! Wire types are separate from the domain model (`punte-model`): objects are built and read
//! member by member here, so a change to the model's serde shape never changes the wire.

pub mod activity;
pub mod actor;
pub mod context;
pub mod httpsig;
pub mod ijson;
pub mod jcs;
pub mod keys;
pub mod multikey;
pub mod nodeinfo;
pub mod objects;
pub mod proof;
pub mod timestamp;
pub mod urls;
pub mod webfinger;
pub mod witness;
