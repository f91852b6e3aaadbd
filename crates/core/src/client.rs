//! A registry client over any [`Transport`]: the requests a runtime makes to resolve and
//! inspect an image, with the token flow, digest checks and an exchange log.

use crate::auth::challenge::parse_all;
use crate::auth::credentials::Credential;
use crate::auth::token::{AuthError, Step, TokenFlow, TokenRequest};
use crate::digest::{Digest, Verifier};
use crate::error::Error;
use crate::manifest::{self, Descriptor, FetchedManifest, ImageConfig, ImageIndex, Manifest, ManifestExpectations};
use crate::media_type as mt;
use crate::platform::Platform;
use crate::reference::{Endpoint, Reference};
use crate::registry_error::{parse_warnings, RegistryError};
use crate::status::{Image, Resolved};
use crate::tags::{self, TagPage};
use crate::transport::{read_limited, Body, Clock, Request, Response, Transport};
use crate::url::Url;
use serde::Serialize;
use std::cell::RefCell;

/// Error bodies and token responses are small; anything bigger is not worth holding.
const SMALL_BODY_LIMIT: usize = 1024 * 1024;
/// Configs are JSON documents; even huge histories stay far below this.
pub const CONFIG_LIMIT: u64 = 16 * 1024 * 1024;
/// A 401 that survives this many rounds of authentication is final.
const MAX_AUTH_ROUNDS: usize = 4;

/// One HTTP exchange, as the activity log shows it. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub status: Option<u16>,
    /// `none`, `basic` or `bearer`: which Authorization scheme the request carried.
    pub auth: &'static str,
    pub purpose: &'static str,
}

pub struct Client<T: Transport, K: Clock> {
    transport: T,
    clock: K,
    base: Url,
    flow: RefCell<TokenFlow>,
    exchanges: RefCell<Vec<Exchange>>,
    warnings: RefCell<Vec<String>>,
}

/// The config blob of an image, verified against its descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedConfig {
    pub descriptor: Descriptor,
    pub raw: Vec<u8>,
    pub parsed: ImageConfig,
}

/// Everything a runtime learns when it resolves an image.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub reference: Reference,
    /// The platform asked for (used only when the reference names an index).
    pub platform: Platform,
    /// What the reference names: an index, an image manifest or a schema1 manifest.
    pub top: FetchedManifest,
    /// The index entry chosen for the platform.
    pub chosen: Option<Descriptor>,
    /// The image manifest chosen from the index.
    pub platform_manifest: Option<FetchedManifest>,
    pub config: Option<FetchedConfig>,
    /// The CRI ImageStatus; `None` for schema1, which no current runtime pulls.
    pub image: Option<Image>,
    pub warnings: Vec<String>,
}

impl Inspection {
    /// The manifest that describes the image actually chosen.
    pub fn image_manifest(&self) -> Option<&manifest::ImageManifest> {
        match &self.platform_manifest.as_ref().unwrap_or(&self.top).manifest {
            Manifest::Image(m) => Some(m),
            _ => None,
        }
    }

    pub fn index(&self) -> Option<&ImageIndex> {
        match &self.top.manifest {
            Manifest::Index(i) => Some(i),
            _ => None,
        }
    }
}

/// How referrers were found: the spec's API, the tag-schema fallback, or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReferrersSource {
    Api,
    TagSchema,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrers {
    pub source: ReferrersSource,
    pub descriptors: Vec<Descriptor>,
}

pub fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

/// The tag the referrers tag schema names a subject by: `<alg>-<hex>`, truncated as the spec says.
pub fn referrers_fallback_tag(subject: &Digest) -> String {
    let alg = subject.algorithm().to_string();
    let clean = |s: &str, n: usize| -> String {
        s.chars().take(n).map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' }).collect()
    };
    format!("{}-{}", clean(&alg, 32), clean(subject.hex(), 64))
}

impl<T: Transport, K: Clock> Client<T, K> {
    pub fn new(transport: T, clock: K, endpoint: &Endpoint, credential: Credential) -> Result<Self, Error> {
        let base = Url::parse(&endpoint.base_url())?;
        let flow = TokenFlow::new(credential, &base);
        Ok(Client {
            transport,
            clock,
            base,
            flow: RefCell::new(flow),
            exchanges: RefCell::new(Vec::new()),
            warnings: RefCell::new(Vec::new()),
        })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Every exchange made so far, oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges.borrow().clone()
    }

    fn record(&self, request: &Request, status: Option<u16>, purpose: &'static str) {
        let auth = request
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map_or("none", |(_, v)| if v.len() > 6 && v[..6].eq_ignore_ascii_case("basic ") { "basic" } else { "bearer" });
        self.exchanges.borrow_mut().push(Exchange { method: request.method.to_string(), url: request.url.clone(), status, auth, purpose });
    }

    async fn transmit(&self, request: Request, purpose: &'static str) -> Result<Response<T::Body>, Error> {
        match self.transport.send(request.clone()).await {
            Ok(resp) => {
                self.record(&request, Some(resp.status), purpose);
                let mut w = self.warnings.borrow_mut();
                for warning in parse_warnings(&resp.headers) {
                    if !w.contains(&warning) {
                        w.push(warning);
                    }
                }
                Ok(resp)
            }
            Err(e) => {
                self.record(&request, None, purpose);
                Err(e.into())
            }
        }
    }

    /// Sends a registry request needing `scope`, answering authentication challenges as they come.
    pub async fn send(&self, request: Request, scope: &str, purpose: &'static str) -> Result<Response<T::Body>, Error> {
        for _ in 0..MAX_AUTH_ROUNDS {
            let mut attempt = request.clone();
            if let Some(value) = self.flow.borrow().authorization(scope, self.clock.now()) {
                attempt.headers.push(("Authorization".into(), value));
            }
            let mut resp = self.transmit(attempt, purpose).await?;
            if resp.status != 401 {
                return Ok(resp);
            }
            let values: Vec<String> = resp.header_values("www-authenticate").into_iter().map(String::from).collect();
            if values.is_empty() {
                let err = self.registry_error(request.method, &mut resp).await;
                return Err(Error::ChallengeMissing(Box::new(err)));
            }
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let challenges = parse_all(&refs).map_err(|source| Error::Challenge { url: resp.url.clone(), source })?;
            let step = self.flow.borrow_mut().on_unauthorized(&challenges, scope, self.clock.now());
            match step {
                Ok(Step::Retry) => {}
                Ok(Step::Fetch(token_request)) => self.fetch_token(token_request).await?,
                // Nothing left to answer the challenge with: the registry's own refusal is the result.
                Err(AuthError::CredentialsRejected { .. } | AuthError::MissingCredentialsForBasic { .. } | AuthError::NoUsableChallenge { .. }) => {
                    return Err(self.registry_error(request.method, &mut resp).await.into());
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Unexpected {
            what: "authentication",
            url: request.url,
            reason: format!("still 401 after {MAX_AUTH_ROUNDS} rounds of authentication"),
        })
    }

    async fn fetch_token(&self, mut token_request: TokenRequest) -> Result<(), Error> {
        for _ in 0..MAX_AUTH_ROUNDS {
            let request = Request {
                method: token_request.method,
                url: token_request.url.clone(),
                headers: token_request.headers.clone(),
                body: token_request.body.clone().map(String::into_bytes),
            };
            let mut resp = self.transmit(request, "token").await?;
            let body = match read_limited(&mut resp.body, SMALL_BODY_LIMIT).await? {
                Ok(b) => b,
                Err(size) => {
                    return Err(Error::Unexpected { what: "token response", url: resp.url, reason: format!("over {size} bytes") })
                }
            };
            let step = self.flow.borrow_mut().on_token_response(&token_request, resp.status, &body, self.clock.now());
            match step {
                Ok(Step::Retry) => return Ok(()),
                Ok(Step::Fetch(next)) => token_request = next,
                Err(_) if resp.status >= 400 => {
                    let url = strip_query(&resp.url);
                    return Err(RegistryError::from_response(token_request.method, &url, resp.status, &resp.headers, &body, self.clock.now()).into());
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Unexpected { what: "token exchange", url: token_request.url, reason: "too many fallbacks".into() })
    }

    async fn registry_error(&self, method: &str, resp: &mut Response<T::Body>) -> RegistryError {
        let body = match read_limited(&mut resp.body, SMALL_BODY_LIMIT).await {
            Ok(Ok(b)) => b,
            _ => Vec::new(),
        };
        RegistryError::from_response(method, &resp.url, resp.status, &resp.headers, &body, self.clock.now())
    }

    fn url(&self, path: &str) -> Result<Url, Error> {
        Ok(self.base.join(path)?)
    }

    /// GETs a manifest by tag or digest and checks it (type, size, digest).
    pub async fn manifest(&self, reference: &Reference, what: &str, accept_first: Option<&str>) -> Result<FetchedManifest, Error> {
        let url = self.url(&format!("/v2/{}/manifests/{what}", reference.path()))?;
        let accept = match accept_first {
            Some(first) => std::iter::once(first).chain(mt::MANIFEST_ACCEPT.iter().copied().filter(|t| *t != first)).collect::<Vec<_>>().join(", "),
            None => mt::manifest_accept_header(),
        };
        let request = Request::get(url.to_string()).header("Accept", accept);
        let mut resp = self.send(request, &pull_scope(reference.path()), "manifest").await?;
        if resp.status != 200 {
            return Err(self.registry_error("GET", &mut resp).await.into());
        }
        if let Some(len) = resp.content_length().filter(|l| *l > manifest::MAX_MANIFEST_BYTES as u64) {
            return Err(manifest::ManifestError::TooLarge { size: len }.into());
        }
        let body = read_limited(&mut resp.body, manifest::MAX_MANIFEST_BYTES)
            .await?
            .map_err(|size| manifest::ManifestError::TooLarge { size: size as u64 })?;
        let requested = Digest::parse(what).ok();
        let image_name = reference.canonical();
        let expect = ManifestExpectations {
            content_type: resp.header("content-type"),
            requested_digest: requested.as_ref(),
            header_digest: resp.header("docker-content-digest"),
            image_name: &image_name,
        };
        Ok(manifest::parse_manifest(&body, &expect)?)
    }

    /// Opens a blob for streaming, optionally from a byte offset (`Range`), without reading it.
    pub async fn open_blob(&self, repository: &str, digest: &Digest, from: Option<u64>) -> Result<Response<T::Body>, Error> {
        let url = self.url(&format!("/v2/{repository}/blobs/{digest}"))?;
        let mut request = Request::get(url.to_string());
        if let Some(offset) = from.filter(|o| *o > 0) {
            request = request.header("Range", format!("bytes={offset}-"));
        }
        let mut resp = self.send(request, &pull_scope(repository), "blob").await?;
        if resp.status != 200 && resp.status != 206 {
            return Err(self.registry_error("GET", &mut resp).await.into());
        }
        Ok(resp)
    }

    /// Fetches a small blob (a config, an SBOM) whole, verified against its descriptor.
    pub async fn blob(&self, repository: &str, descriptor: &Descriptor, limit: u64) -> Result<Vec<u8>, Error> {
        let digest = &descriptor.digest;
        if descriptor.size > limit {
            return Err(Error::BlobTooLarge { digest: digest.clone(), size: descriptor.size, limit });
        }
        let mut resp = self.open_blob(repository, digest, None).await?;
        let blob_error = |source| Error::Blob { digest: digest.clone(), source };
        let mut verifier = Verifier::new(digest.clone(), descriptor.size);
        let mut out = Vec::with_capacity(descriptor.size as usize);
        while let Some(chunk) = resp.body.chunk().await? {
            verifier.update(&chunk).map_err(blob_error)?;
            out.extend_from_slice(&chunk);
        }
        verifier.finish().map_err(blob_error)?;
        Ok(out)
    }

    /// Resolves a reference the way a runtime pulling it would, short of the layers.
    pub async fn inspect(&self, reference: &Reference, platform: &Platform) -> Result<Inspection, Error> {
        let top = self.manifest(reference, &reference.manifest_reference(), None).await?;
        let mut warnings = top.warnings.clone();
        let (chosen, platform_manifest) = match &top.manifest {
            Manifest::Index(index) => {
                let entry = index.select(platform)?.clone();
                let child = self.manifest(reference, &entry.digest.to_string(), Some(&entry.media_type)).await?;
                if child.size != entry.size {
                    return Err(Error::Unexpected {
                        what: "platform manifest",
                        url: entry.digest.to_string(),
                        reason: format!("the index says {} bytes, the registry sent {}", entry.size, child.size),
                    });
                }
                warnings.extend(child.warnings.iter().cloned());
                (Some(entry), Some(child))
            }
            _ => (None, None),
        };
        let image_manifest = match &platform_manifest.as_ref().unwrap_or(&top).manifest {
            Manifest::Image(m) => Some(m.clone()),
            Manifest::Index(_) => {
                return Err(Error::Unexpected {
                    what: "platform manifest",
                    url: reference.canonical(),
                    reason: "an index entry points at another index".into(),
                })
            }
            Manifest::Schema1 { .. } => None,
        };
        let config = match &image_manifest {
            Some(m) => {
                let raw = self.blob(reference.path(), &m.config, CONFIG_LIMIT).await?;
                let parsed = if m.is_artifact() { ImageConfig::default() } else { manifest::parse_config(&raw)? };
                Some(FetchedConfig { descriptor: m.config.clone(), raw, parsed })
            }
            None => None,
        };
        let image = match (&image_manifest, &config) {
            (Some(m), Some(c)) => {
                let layer_sizes: Vec<u64> = m.layers.iter().map(|l| l.size).collect();
                Some(Image::from_resolved(&Resolved {
                    reference,
                    target_digest: &top.digest,
                    target_size: top.size,
                    platform_manifest_size: platform_manifest.as_ref().map(|p| p.size),
                    config_digest: &c.descriptor.digest,
                    config_size: c.descriptor.size,
                    layer_sizes: &layer_sizes,
                    config: Some(&c.parsed),
                }))
            }
            _ => None,
        };
        for w in self.warnings.borrow().iter() {
            if !warnings.contains(w) {
                warnings.push(w.clone());
            }
        }
        Ok(Inspection { reference: reference.clone(), platform: platform.clone(), top, chosen, platform_manifest, config, image, warnings })
    }

    /// One page of tags, and the next page's URL when the registry sent a `Link`.
    pub async fn tags_page(&self, repository: &str, url: &Url) -> Result<(TagPage, Option<Url>), Error> {
        let request = Request::get(url.to_string()).header("Accept", "application/json");
        let mut resp = self.send(request, &pull_scope(repository), "tags").await?;
        if resp.status != 200 {
            return Err(self.registry_error("GET", &mut resp).await.into());
        }
        let body = read_limited(&mut resp.body, 16 * SMALL_BODY_LIMIT).await?.map_err(|size| Error::Unexpected {
            what: "tag list",
            url: url.to_string(),
            reason: format!("over {size} bytes"),
        })?;
        let page = tags::parse_page(&body)?;
        let final_url = Url::parse(&resp.url).unwrap_or_else(|_| url.clone());
        let next = tags::next_page(&final_url, resp.header("link"))?;
        Ok((page, next))
    }

    /// Every tag, following `Link` pages, at most `max_pages` of them.
    pub async fn all_tags(&self, repository: &str, page_size: u32, max_pages: usize) -> Result<Vec<String>, Error> {
        let mut url = tags::first_page_url(&self.base, repository, Some(page_size), None)?;
        let mut all = Vec::new();
        for _ in 0..max_pages {
            let (page, next) = self.tags_page(repository, &url).await?;
            all.extend(page.tags);
            match next {
                Some(n) => url = n,
                None => return Ok(all),
            }
        }
        Ok(all)
    }

    /// The referrers of `subject`: the referrers API, else the tag-schema index, else none.
    pub async fn referrers(&self, reference: &Reference, subject: &Digest) -> Result<Referrers, Error> {
        let url = self.url(&format!("/v2/{}/referrers/{subject}", reference.path()))?;
        let request = Request::get(url.to_string()).header("Accept", mt::OCI_INDEX);
        let mut resp = self.send(request, &pull_scope(reference.path()), "referrers").await?;
        let is_index = resp.header("content-type").map(mt::essence).as_deref() == Some(mt::OCI_INDEX);
        if resp.status == 200 && is_index {
            let body = read_limited(&mut resp.body, manifest::MAX_MANIFEST_BYTES)
                .await?
                .map_err(|size| manifest::ManifestError::TooLarge { size: size as u64 })?;
            let index: ImageIndex = serde_json::from_slice(&body).map_err(|e| Error::Unexpected {
                what: "referrers index",
                url: url.to_string(),
                reason: e.to_string(),
            })?;
            return Ok(Referrers { source: ReferrersSource::Api, descriptors: index.manifests });
        }
        if ![200, 400, 404, 405, 406].contains(&resp.status) {
            return Err(self.registry_error("GET", &mut resp).await.into());
        }
        match self.manifest(reference, &referrers_fallback_tag(subject), Some(mt::OCI_INDEX)).await {
            Ok(FetchedManifest { manifest: Manifest::Index(index), .. }) => {
                Ok(Referrers { source: ReferrersSource::TagSchema, descriptors: index.manifests })
            }
            Ok(_) => Ok(Referrers { source: ReferrersSource::None, descriptors: vec![] }),
            Err(e) if e.is_absent() => Ok(Referrers { source: ReferrersSource::None, descriptors: vec![] }),
            Err(e) => Err(e),
        }
    }
}

/// Token URLs carry no secrets, but their query is noise in an error line.
fn strip_query(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_string()
}

#[cfg(test)]
mod tests;
