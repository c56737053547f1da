//! API tokens and roles. Tokens are 256-bit random strings shown once and stored hashed.

use base64::Engine;

use punte_store::{timestamp, tokens as store};

use crate::Node;
use crate::error::{NodeError, Result};
use crate::keys::random_bytes;

/// What a token may do; each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read everything through the admin API.
    Reader,
    /// Also create, edit and delete practices, evaluations, indicators and adaptations.
    Editor,
    /// Also manage tokens, the organisation profile and follows.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "reader" => Some(Self::Reader),
            "editor" => Some(Self::Editor),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn allows(self, required: Role) -> bool {
        self >= required
    }
}

/// The holder of a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPrincipal {
    pub token_id: String,
    pub role: Role,
}

/// Tokens start with this so they are recognisable in secret scanners.
pub const TOKEN_PREFIX: &str = "punte_";

impl Node {
    /// Creates a token and returns `(id, token)`; the token is not stored and cannot be shown again.
    pub fn create_token(&self, role: Role, label: &str) -> Result<(String, String)> {
        let secret = random_bytes::<32>()?;
        let token = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
        );
        let id = hex::encode(random_bytes::<6>()?);
        let now = timestamp(self.now());
        self.store.write(|tx| -> Result<()> {
            Ok(store::insert(tx, &id, &token, role.as_str(), label, &now)?)
        })?;
        Ok((id, token))
    }

    /// The principal a bearer token stands for, if it is valid and not revoked.
    pub fn authenticate(&self, token: &str) -> Result<Option<TokenPrincipal>> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let found = self
            .store
            .read(|conn| -> Result<_> { Ok(store::role_of(conn, token)?) })?;
        let Some((token_id, role, last_used)) = found else {
            return Ok(None);
        };
        // Record use at most hourly, so a busy client does not turn reads into writes.
        let now = self.now();
        let hour_ago = timestamp(now - time::Duration::hours(1));
        if last_used.is_none_or(|t| t < hour_ago) {
            let stamp = timestamp(now);
            self.store
                .write(|tx| -> Result<()> { Ok(store::touch(tx, &token_id, &stamp)?) })?;
        }
        let role = Role::parse(&role).ok_or_else(|| {
            NodeError::Store(punte_store::StoreError::Corrupt(format!(
                "token {token_id} has unknown role"
            )))
        })?;
        Ok(Some(TokenPrincipal { token_id, role }))
    }

    pub fn list_tokens(&self) -> Result<Vec<store::TokenInfo>> {
        self.store
            .read(|conn| -> Result<_> { Ok(store::list(conn)?) })
    }

    pub fn revoke_token(&self, id: &str) -> Result<()> {
        let now = timestamp(self.now());
        self.store
            .write(|tx| -> Result<()> { Ok(store::revoke(tx, id, &now)?) })
    }
}
