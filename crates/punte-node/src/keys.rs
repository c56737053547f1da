//! The node's keys: an Ed25519 identity key, an Ed25519 witness key and an RSA-2048 key for
//! Mastodon-family HTTP signatures. Each lives in its own PKCS#8 PEM file, mode 0600.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::RsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};

/// Key material of one node. `Debug` shows public parts only.
pub struct NodeKeys {
    pub identity: SigningKey,
    pub witness: SigningKey,
    pub rsa: RsaPrivateKey,
}

impl std::fmt::Debug for NodeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeKeys")
            .field(
                "identity",
                &hex_prefix(self.identity.verifying_key().as_bytes()),
            )
            .field(
                "witness",
                &hex_prefix(self.witness.verifying_key().as_bytes()),
            )
            .finish_non_exhaustive()
    }
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write key file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {path} is not a valid {kind} PKCS#8 PEM key")]
    Invalid { path: PathBuf, kind: &'static str },
    #[error("key file {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`")]
    Permissions { path: PathBuf, mode: u32 },
    #[error("cannot generate a key: {0}")]
    Generate(String),
}

pub const IDENTITY_FILE: &str = "identity.ed25519.pem";
pub const WITNESS_FILE: &str = "witness.ed25519.pem";
pub const RSA_FILE: &str = "rsa.pem";
/// A new identity key written before a rotation commits (see `Node::rotate_identity_key`).
pub const IDENTITY_NEXT_FILE: &str = "identity.next.ed25519.pem";
/// Folder of retired identity keys, `retired/identity-<n>.ed25519.pem`; never deleted.
pub const RETIRED_DIR: &str = "retired";

/// File name of the `n`th identity key (1 = the first) once retired.
pub fn retired_identity_file(n: u64) -> String {
    format!("identity-{n}.ed25519.pem")
}

impl NodeKeys {
    /// Loads the keys in `dir`, creating any that are missing (and `dir` with mode 0700).
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        create_private_dir(dir)?;
        let identity = load_or_create_ed25519(&dir.join(IDENTITY_FILE))?;
        let witness = load_or_create_ed25519(&dir.join(WITNESS_FILE))?;
        let rsa = load_or_create_rsa(&dir.join(RSA_FILE))?;
        Ok(Self {
            identity,
            witness,
            rsa,
        })
    }
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    let err = |source| KeyError::Write {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}

fn read_private(path: &Path) -> Result<Option<String>, KeyError> {
    match fs::read_to_string(path) {
        Ok(text) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let meta = fs::metadata(path).map_err(|source| KeyError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(KeyError::Permissions {
                        path: path.to_path_buf(),
                        mode,
                    });
                }
            }
            Ok(Some(text))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes a new secret file atomically: a 0600 temporary file, fsync, rename, fsync the folder.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    let err = |source| KeyError::Write {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(err)?;
    file.write_all(contents).map_err(err)?;
    file.sync_all().map_err(err)?;
    drop(file);
    fs::rename(&tmp, path).map_err(err)?;
    if let Some(parent) = path.parent()
        && let Ok(dir) = fs::File::open(parent)
    {
        dir.sync_all().map_err(err)?;
    }
    Ok(())
}

/// 32 bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| KeyError::Generate(e.to_string()))?;
    Ok(bytes)
}

/// Reads an Ed25519 PKCS#8 PEM key file (mode 0600), if it exists.
pub(crate) fn read_ed25519(path: &Path) -> Result<Option<SigningKey>, KeyError> {
    let Some(pem) = read_private(path)? else {
        return Ok(None);
    };
    SigningKey::from_pkcs8_pem(&pem)
        .map(Some)
        .map_err(|_| KeyError::Invalid {
            path: path.to_path_buf(),
            kind: "Ed25519",
        })
}

/// A new Ed25519 key from the operating system's CSPRNG.
pub(crate) fn generate_ed25519() -> Result<SigningKey, KeyError> {
    Ok(SigningKey::from_bytes(&random_bytes::<32>()?))
}

/// Writes `key` as PKCS#8 PEM to a new 0600 file (atomically).
pub(crate) fn write_ed25519(path: &Path, key: &SigningKey) -> Result<(), KeyError> {
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    write_private(path, pem.as_bytes())
}

fn load_or_create_ed25519(path: &Path) -> Result<SigningKey, KeyError> {
    if let Some(key) = read_ed25519(path)? {
        return Ok(key);
    }
    let key = generate_ed25519()?;
    write_ed25519(path, &key)?;
    tracing::info!(path = %path.display(), "created Ed25519 key");
    Ok(key)
}

fn load_or_create_rsa(path: &Path) -> Result<RsaPrivateKey, KeyError> {
    if let Some(pem) = read_private(path)? {
        return RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|_| KeyError::Invalid {
            path: path.to_path_buf(),
            kind: "RSA",
        });
    }
    let key = RsaPrivateKey::new(&mut rand_core_06::OsRng, 2048)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    write_private(path, pem.as_bytes())?;
    tracing::info!(path = %path.display(), "created RSA-2048 key");
    Ok(key)
}
