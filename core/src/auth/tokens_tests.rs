//! SECURITY-CHECKLIST items 1-5: every forged, expired, mistyped or re-targeted token is refused.
//! Tokens jsonwebtoken refuses to build (`alg: none`, a string `exp`) are assembled by hand.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::config::{JwtConfig, JwtKey};
use super::tokens::{INVALID_TOKEN, TokenSigner};
use crate::{Error, UserId};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-modelyard";

/// RFC 8032 §7.1 test 1 key pair.
const ED_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const ED_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn hs256_signer() -> TokenSigner {
    TokenSigner::new(&JwtConfig::new(JwtKey::hs256(SECRET.to_vec()).unwrap())).unwrap()
}

fn eddsa_signer() -> TokenSigner {
    let key = JwtKey::eddsa(hex(ED_SEED), hex(ED_PUBLIC)).unwrap();
    TokenSigner::new(&JwtConfig::new(key)).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn good_claims() -> Value {
    json!({
        "sub": UserId::new().to_string(),
        "exp": now() + 600,
        "nbf": now() - 1,
        "iat": now() - 1,
        "iss": "modelyard",
        "aud": "modelyard",
        "jti": uuid::Uuid::new_v4().to_string(),
        "ver": 0,
    })
}

fn sign(header: &Header, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn sign_hs256(claims: &Value) -> String {
    sign(&Header::new(Algorithm::HS256), claims, SECRET)
}

fn assert_refused(signer: &TokenSigner, token: &str) {
    assert_eq!(signer.verify(token), Err(Error::Unauthorized(INVALID_TOKEN.into())), "{token}");
}

#[test]
fn a_token_we_issued_verifies_with_its_claims() {
    let signer = hs256_signer();
    let user = UserId::new();
    let issued = signer.issue(user, 7).unwrap();
    let claims = signer.verify(&issued.token).unwrap();
    assert_eq!(claims.user, user);
    assert_eq!(claims.token_version, 7);
    assert_eq!(claims.expires_at, issued.expires_at);
    assert_eq!(claims.token_id.get_version_num(), 4);
}

#[test]
fn a_hand_signed_token_with_good_claims_verifies() {
    // Guards the other tests: they fail for the reason they name, not a broken fixture.
    assert!(hs256_signer().verify(&sign_hs256(&good_claims())).is_ok());
}

#[test]
fn alg_none_is_refused() {
    let signer = hs256_signer();
    for alg in ["none", "None", "NONE"] {
        let header = b64url(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes());
        let payload = b64url(good_claims().to_string().as_bytes());
        assert_refused(&signer, &format!("{header}.{payload}."));
        assert_refused(&signer, &format!("{header}.{payload}"));
    }
}

#[test]
fn a_token_without_a_signature_is_refused() {
    let signer = hs256_signer();
    let token = sign_hs256(&good_claims());
    let unsigned = &token[..=token.rfind('.').unwrap()];
    assert_refused(&signer, unsigned);
    assert_refused(&signer, unsigned.trim_end_matches('.'));
    assert_refused(&signer, "");
    assert_refused(&signer, "not-a-jwt");
}

#[test]
fn a_mangled_signature_is_refused() {
    let signer = hs256_signer();
    let token = sign_hs256(&good_claims());
    let (body, sig) = token.rsplit_once('.').unwrap();
    let flipped =
        if sig.starts_with('A') { sig.replacen('A', "B", 1) } else { format!("A{}", &sig[1..]) };
    assert_refused(&signer, &format!("{body}.{flipped}"));
    assert_refused(&signer, &format!("{body}.{sig}AAAA"));
}

#[test]
fn a_changed_payload_under_the_old_signature_is_refused() {
    let signer = hs256_signer();
    let token = sign_hs256(&good_claims());
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = good_claims();
    claims["ver"] = json!(99);
    let forged_payload = b64url(claims.to_string().as_bytes());
    assert_refused(&signer, &format!("{}.{forged_payload}.{}", parts[0], parts[2]));
}

#[test]
fn a_token_signed_with_another_secret_is_refused() {
    let other = b"another-secret-another-secret-another-secret";
    assert_refused(&hs256_signer(), &sign(&Header::new(Algorithm::HS256), &good_claims(), other));
}

#[test]
fn another_hmac_algorithm_with_the_right_secret_is_refused() {
    let token = sign(&Header::new(Algorithm::HS512), &good_claims(), SECRET);
    assert_refused(&hs256_signer(), &token);
}

#[test]
fn an_eddsa_config_refuses_hs256_tokens_even_keyed_with_its_public_key() {
    let signer = eddsa_signer();
    assert_refused(&signer, &sign_hs256(&good_claims()));
    // The classic confusion attack: HMAC keyed with the (public) verification key.
    let token = sign(&Header::new(Algorithm::HS256), &good_claims(), &hex(ED_PUBLIC));
    assert_refused(&signer, &token);
}

#[test]
fn an_eddsa_token_verifies_and_an_hs256_config_refuses_it() {
    let eddsa = eddsa_signer();
    let issued = eddsa.issue(UserId::new(), 0).unwrap();
    assert!(eddsa.verify(&issued.token).is_ok());
    assert_refused(&hs256_signer(), &issued.token);
}

#[test]
fn a_mismatched_ed25519_pair_fails_at_start_up() {
    let mut wrong_public = hex(ED_PUBLIC);
    wrong_public[0] ^= 1;
    let key = JwtKey::eddsa(hex(ED_SEED), wrong_public).unwrap();
    assert!(TokenSigner::new(&JwtConfig::new(key)).is_err());
}

#[test]
fn an_expired_token_is_refused() {
    let mut claims = good_claims();
    claims["iat"] = json!(now() - 7200);
    claims["nbf"] = json!(now() - 7200);
    claims["exp"] = json!(now() - 3600);
    assert_refused(&hs256_signer(), &sign_hs256(&claims));
}

#[test]
fn a_token_not_yet_valid_is_refused() {
    let mut claims = good_claims();
    claims["nbf"] = json!(now() + 3600);
    assert_refused(&hs256_signer(), &sign_hs256(&claims));
}

#[test]
fn time_claims_sent_as_strings_are_refused() {
    let signer = hs256_signer();
    for field in ["exp", "nbf", "iat"] {
        let mut claims = good_claims();
        claims[field] = json!(claims[field].to_string());
        assert!(claims[field].is_string());
        assert_refused(&signer, &sign_hs256(&claims));
    }
    // A far-future string exp must not slip through as "unparsed, so unchecked" either.
    let mut claims = good_claims();
    claims["exp"] = json!("99999999999");
    assert_refused(&signer, &sign_hs256(&claims));
}

#[test]
fn jsonwebtoken_itself_refuses_string_times_under_our_validation() {
    // Independent of our typed claims: the library's own checks must hold on untyped JSON.
    let signer = hs256_signer();
    let key = jsonwebtoken::DecodingKey::from_secret(SECRET);
    assert!(
        jsonwebtoken::decode::<Value>(sign_hs256(&good_claims()), &key, signer.validation())
            .is_ok()
    );
    for field in ["exp", "nbf"] {
        let mut claims = good_claims();
        claims[field] = json!(claims[field].to_string());
        let token = sign_hs256(&claims);
        assert!(
            jsonwebtoken::decode::<Value>(&token, &key, signer.validation()).is_err(),
            "{field}"
        );
    }
}

#[test]
fn fractional_or_negative_times_are_refused() {
    let signer = hs256_signer();
    let mut fractional = good_claims();
    fractional["exp"] = json!(now() as f64 + 600.5);
    assert_refused(&signer, &sign_hs256(&fractional));
    let mut negative = good_claims();
    negative["nbf"] = json!(-1);
    assert_refused(&signer, &sign_hs256(&negative));
}

#[test]
fn each_missing_required_claim_is_refused() {
    let signer = hs256_signer();
    for field in ["exp", "nbf", "iat", "iss", "aud", "sub", "jti", "ver"] {
        let mut claims = good_claims();
        claims.as_object_mut().unwrap().remove(field);
        assert_refused(&signer, &sign_hs256(&claims));
    }
}

#[test]
fn a_wrong_issuer_or_audience_is_refused() {
    let signer = hs256_signer();
    for (field, value) in [
        ("iss", json!("someone-else")),
        ("aud", json!("someone-else")),
        ("aud", json!(["someone-else"])),
        ("iss", json!("")),
        ("iss", json!(null)),
        ("aud", json!(null)),
    ] {
        let mut claims = good_claims();
        claims[field] = value;
        assert_refused(&signer, &sign_hs256(&claims));
    }
}

#[test]
fn a_subject_that_is_not_a_user_id_is_refused() {
    let mut claims = good_claims();
    claims["sub"] = json!("../admin");
    assert_refused(&hs256_signer(), &sign_hs256(&claims));
}

#[test]
fn key_pointing_headers_are_ignored_and_the_configured_key_decides() {
    let signer = hs256_signer();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("attacker-key".into());
    header.jku = Some("https://attacker.example/jwks.json".into());
    header.x5u = Some("https://attacker.example/cert.pem".into());
    // Signed with the configured secret: accepted, the pointers were never followed.
    assert!(signer.verify(&sign(&header, &good_claims(), SECRET)).is_ok());
    // Signed with the attacker's key the headers point at: refused.
    let attacker = b"attacker-controlled-secret-attacker-controlled";
    assert_refused(&signer, &sign(&header, &good_claims(), attacker));
}

#[test]
fn an_embedded_jwk_header_does_not_supply_the_key() {
    let signer = hs256_signer();
    let attacker = b"attacker-controlled-secret-attacker-controlled";
    let header = json!({
        "alg": "HS256",
        "typ": "JWT",
        "jwk": {"kty": "oct", "k": b64url(attacker)},
    });
    let message = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(good_claims().to_string().as_bytes())
    );
    // Signed by the attacker's key; the verifier must use the configured secret and refuse it.
    let sig = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(attacker),
        Algorithm::HS256,
    )
    .unwrap();
    assert_refused(&signer, &format!("{message}.{sig}"));
}

#[test]
fn an_oversized_token_is_refused_unread() {
    let mut claims = good_claims();
    claims["padding"] = json!("x".repeat(10_000));
    assert_refused(&hs256_signer(), &sign_hs256(&claims));
}

#[test]
fn a_remembered_token_still_expires_on_time() {
    let mut config = JwtConfig::new(JwtKey::hs256(SECRET.to_vec()).unwrap());
    config.leeway_secs = 0;
    let signer = TokenSigner::new(&config).unwrap();
    let mut claims = good_claims();
    claims["exp"] = json!(now() + 1);
    let token = sign_hs256(&claims);
    assert!(signer.verify(&token).is_ok());
    assert!(signer.verify(&token).is_ok(), "second use, from memory");
    while now() <= claims["exp"].as_i64().unwrap() {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_refused(&signer, &token);
}

#[test]
fn forgeries_of_a_token_already_verified_are_still_refused() {
    let signer = hs256_signer();
    let token = sign_hs256(&good_claims());
    assert!(signer.verify(&token).is_ok());
    let (body, sig) = token.rsplit_once('.').unwrap();
    let flipped =
        if sig.starts_with('A') { sig.replacen('A', "B", 1) } else { format!("A{}", &sig[1..]) };
    assert_refused(&signer, &format!("{body}.{flipped}"));
    assert_refused(&signer, &format!("{token}AAAA"));
    assert_refused(&signer, &format!("{token} "));
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = good_claims();
    claims["ver"] = json!(99);
    let forged_payload = b64url(claims.to_string().as_bytes());
    assert_refused(&signer, &format!("{}.{forged_payload}.{}", parts[0], parts[2]));
    assert!(signer.verify(&token).is_ok());
}
