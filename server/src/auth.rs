//! Capability tokens. A picture has four, one per role; they are random, shown once when
//! the picture is made, and stored only as SHA-256 hashes.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use hugepic_hub_core::roles::Role;

/// Tokens (plain or hashed) by role.
pub type RoleTokens = Vec<(Role, String)>;

/// A new random token: 32 bytes, URL-safe base64.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new random id for pictures and uploads: 16 characters of URL-safe base64.
pub fn new_id() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token of a request: `Authorization: Bearer …`, else `?token=…`.
pub fn token_from(headers: &axum::http::HeaderMap, query_token: Option<&str>) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .or_else(|| query_token.map(str::to_string))
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_named() {
        assert!(
            Role::Owner > Role::Edit && Role::Edit > Role::Comment && Role::Comment > Role::View
        );
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), a);
        assert_eq!(hash_token(&a), hash_token(&a));
    }

    #[test]
    fn bearer_header_wins_over_query() {
        let mut headers = axum::http::HeaderMap::new();
        assert_eq!(token_from(&headers, Some("q")), Some("q".into()));
        headers.insert(
            axum::http::header::AUTHORIZATION,
            "Bearer abc".parse().unwrap(),
        );
        assert_eq!(token_from(&headers, Some("q")), Some("abc".into()));
        assert_eq!(token_from(&axum::http::HeaderMap::new(), Some("")), None);
    }
}
