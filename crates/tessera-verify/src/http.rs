//! The HTTP the verifier needs, behind a trait so services can bring their own client (or a
//! test double). With the default `reqwest` feature, [`ReqwestClient`] is used.

use std::future::Future;
use std::pin::Pin;

#[derive(Debug, Clone, Default)]
pub struct Request {
    pub url: String,
    /// `If-None-Match`, for revalidating the JWKS.
    pub if_none_match: Option<String>,
    /// HTTP Basic credentials (the feed and introspection authenticate as a client).
    pub basic_auth: Option<(String, String)>,
    /// A form body: the request is a POST when present, a GET otherwise.
    pub form: Option<Vec<(String, String)>>,
}

#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: u16,
    pub etag: Option<String>,
    pub cache_control: Option<String>,
    pub body: Vec<u8>,
}

pub type ResponseFuture<'a> = Pin<Box<dyn Future<Output = Result<Response, String>> + Send + 'a>>;

pub trait HttpClient: Send + Sync + 'static {
    fn send(&self, request: Request) -> ResponseFuture<'_>;
}

#[cfg(feature = "reqwest")]
pub use reqwest_client::ReqwestClient;

#[cfg(feature = "reqwest")]
mod reqwest_client {
    use super::*;

    /// The default client: 10 s timeouts, no redirects to other hosts' keys.
    #[derive(Debug, Clone)]
    pub struct ReqwestClient(reqwest::Client);

    impl Default for ReqwestClient {
        fn default() -> Self {
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a reqwest client with static settings builds");
            Self(client)
        }
    }

    impl HttpClient for ReqwestClient {
        fn send(&self, request: Request) -> ResponseFuture<'_> {
            Box::pin(async move {
                let mut builder = match &request.form {
                    Some(form) => self.0.post(&request.url).form(form),
                    None => self.0.get(&request.url),
                };
                if let Some(etag) = &request.if_none_match {
                    builder = builder.header("if-none-match", etag);
                }
                if let Some((id, secret)) = &request.basic_auth {
                    builder = builder.basic_auth(id, Some(secret));
                }
                let response = builder
                    .send()
                    .await
                    .map_err(|e| e.without_url().to_string())?;
                let header = |name: &str| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let (etag, cache_control) = (header("etag"), header("cache-control"));
                let status = response.status().as_u16();
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| e.without_url().to_string())?
                    .to_vec();
                Ok(Response {
                    status,
                    etag,
                    cache_control,
                    body,
                })
            })
        }
    }
}
