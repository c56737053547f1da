//! Web sessions: an encrypted, authenticated, expiring cookie that holds the API token the
//! reader signed in with and the session's CSRF token. The token is checked again on every
//! request, so a revoked token signs the session out at once.
//!
//! The cookie key is 64 random bytes in `DATA_DIR/keys/session.key` (mode 0600), made once.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "punte_session";
/// How long a session lasts after sign-in.
pub const SESSION_SECONDS: i64 = 8 * 60 * 60;
/// File name of the cookie key inside the data directory's `keys` folder.
pub const KEY_FILE: &str = "session.key";

/// What the session cookie holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The API token signed in with; `None` before sign-in (the sign-in form's own session).
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The synchronizer token every POST form must send back.
    #[serde(rename = "c")]
    pub csrf: String,
    /// Unix time after which the session is void.
    #[serde(rename = "e")]
    pub expires: i64,
}

impl Session {
    /// A fresh session with a new CSRF token.
    pub fn new(token: Option<String>, now: i64) -> std::io::Result<Self> {
        Ok(Self {
            token,
            csrf: random_token()?,
            expires: now.saturating_add(SESSION_SECONDS),
        })
    }

    /// Whether `sent` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, sent: &str) -> bool {
        constant_time_eq(self.csrf.as_bytes(), sent.as_bytes())
    }
}

/// The per-process holder of the cookie key, loaded on first use.
#[derive(Default)]
pub struct SessionKeys {
    key: OnceLock<Key>,
}

impl SessionKeys {
    /// The key, reading or creating `DATA_DIR/keys/session.key` the first time.
    pub fn get(&self, data_dir: &Path) -> std::io::Result<Key> {
        if let Some(key) = self.key.get() {
            return Ok(key.clone());
        }
        let key = load_or_create_key(&data_dir.join(punte_node::KEYS_DIR))?;
        let _ = self.key.set(key.clone());
        Ok(key)
    }
}

fn io_error(message: String) -> std::io::Error {
    std::io::Error::other(message)
}

/// Reads the 64-byte key, or creates it atomically with mode 0600 (a concurrent creator loses
/// the race harmlessly and reads the winner's key).
pub fn load_or_create_key(keys_dir: &Path) -> std::io::Result<Key> {
    let path = keys_dir.join(KEY_FILE);
    if let Some(key) = read_key(&path)? {
        return Ok(key);
    }
    std::fs::create_dir_all(keys_dir)?;
    let bytes = random_bytes::<64>()?;
    let temporary: PathBuf = keys_dir.join(format!(
        "{KEY_FILE}.{}.tmp",
        hex_string(&random_bytes::<8>()?)
    ));
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temporary)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    let linked = std::fs::hard_link(&temporary, &path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => Key::try_from(bytes.as_slice()).map_err(|e| io_error(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key(&path)?.ok_or_else(|| io_error(format!("{} vanished", path.display())))
        }
        Err(e) => Err(e),
    }
}

fn read_key(path: &Path) -> std::io::Result<Option<Key>> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(io_error(format!(
                "{} can be read by other users (mode {mode:o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            )));
        }
    }
    let mut bytes = Vec::with_capacity(64);
    file.read_to_end(&mut bytes)?;
    if bytes.len() != 64 {
        return Err(io_error(format!(
            "{} is not a 64-byte session key",
            path.display()
        )));
    }
    Key::try_from(bytes.as_slice())
        .map(Some)
        .map_err(|e| io_error(e.to_string()))
}

/// The valid, unexpired session the request carries, if any.
pub fn read(req: &HttpRequest, key: &Key, now: i64) -> Option<Session> {
    let cookie = req.cookie(SESSION_COOKIE)?;
    let mut jar = CookieJar::new();
    jar.add_original(cookie.into_owned());
    let opened = jar.private(key).get(SESSION_COOKIE)?;
    let session: Session = serde_json::from_str(opened.value()).ok()?;
    (session.expires > now).then_some(session)
}

/// The encrypted `Set-Cookie` for a session.
pub fn cookie(session: &Session, key: &Key, secure: bool) -> Option<Cookie<'static>> {
    let value = serde_json::to_string(session).ok()?;
    let mut jar = CookieJar::new();
    jar.private_mut(key).add(base_cookie(value, secure));
    let mut sealed = jar.get(SESSION_COOKIE)?.clone();
    sealed.set_max_age(actix_web::cookie::time::Duration::seconds(SESSION_SECONDS));
    Some(sealed)
}

/// A `Set-Cookie` that removes the session.
pub fn removal(secure: bool) -> Cookie<'static> {
    let mut c = base_cookie(String::new(), secure);
    c.make_removal();
    c
}

fn base_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish()
}

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> std::io::Result<String> {
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

fn random_bytes<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| io_error(e.to_string()))?;
    Ok(bytes)
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without an early exit, so timing does not reveal how much of a token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_key_is_made_once_with_mode_0600() {
        let dir = tempfile_dir();
        let a = load_or_create_key(&dir).unwrap();
        let b = load_or_create_key(&dir).unwrap();
        assert_eq!(a.master(), b.master());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn csrf_tokens_compare_exactly() {
        let s = Session::new(None, 0).unwrap();
        assert!(s.csrf_matches(&s.csrf.clone()));
        assert!(!s.csrf_matches(""));
        assert!(!s.csrf_matches("x"));
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "punte-session-key-{}",
            hex_string(&random_bytes::<8>().unwrap())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
