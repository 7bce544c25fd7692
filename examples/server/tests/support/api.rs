//! An HTTP client bound to one server's address, shared by `support` (in-process servers) and
//! `cluster` (server processes), which include this file by path and deref to it.

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// The password every test account uses.
pub const PASSWORD: &str = "a long enough passphrase";

/// A server's base URL (`http://127.0.0.1:<port>`) and a client for it.
pub struct Api {
    pub base: String,
    pub client: Client,
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token)).send().await.unwrap()
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, Some(token)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::POST, path, token).json(&body).send().await.unwrap()
    }

    /// Logs in as an account made by [`Api::register`]`(name)`: the raw answer.
    pub async fn login(&self, name: &str) -> Response {
        let body = json!({ "email": format!("{name}@example.com"), "password": PASSWORD });
        self.post("/api/auth/login", None, body).await
    }

    /// Registers `name` (`<name>@example.com`, [`PASSWORD`]) and returns its token.
    pub async fn register(&self, name: &str) -> String {
        self.register_with_id(name).await.0
    }

    /// As [`Api::register`], with the new user's id: (token, user id).
    pub async fn register_with_id(&self, name: &str) -> (String, String) {
        let response = self
            .post(
                "/api/auth/register",
                None,
                json!({ "username": name, "email": format!("{name}@example.com"), "password": PASSWORD }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        (
            body["token"].as_str().unwrap().to_owned(),
            body["user"]["id"].as_str().unwrap().to_owned(),
        )
    }
}
