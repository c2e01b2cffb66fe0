//! Access tokens: JWT signed with HS256 only; the algorithm is pinned when verifying.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub user_id: String,
    pub email: String,
    /// The session; absent in tokens issued before sessions existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub iat: i64,
    pub exp: i64,
}

/// Who a valid token speaks for. Whether the session still exists is PostgreSQL's to say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bearer {
    pub user: Uuid,
    pub session: Option<Uuid>,
}

pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl_seconds: i64,
}

impl Keys {
    pub fn new(secret: &[u8], ttl_days: i64) -> Keys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_seconds: ttl_days * 86_400,
        }
    }

    pub fn issue(
        &self,
        user_id: Uuid,
        email: &str,
        session: Uuid,
    ) -> jsonwebtoken::errors::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            user_id: user_id.to_string(),
            email: email.to_string(),
            sid: Some(session.to_string()),
            iat: now,
            exp: now + self.ttl_seconds,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The user and session a validly signed, unexpired token names; `None` for anything else.
    pub fn verify(&self, token: &str) -> Option<Bearer> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        let claims = data.claims;
        if claims.sub != claims.user_id {
            return None;
        }
        let session = match claims.sid {
            None => None,
            Some(sid) => Some(Uuid::parse_str(&sid).ok()?),
        };
        Some(Bearer {
            user: Uuid::parse_str(&claims.sub).ok()?,
            session,
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let (scheme, token) = header?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
