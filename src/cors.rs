//! Why the browser blocked a registry request, and how to fix it. A blocked fetch says nothing
//! by itself, so two follow-up probes tell the cases apart: a plain GET (no preflight) read
//! under CORS, and an opaque `no-cors` GET that only shows whether the host answers at all.

use crate::fetch::probe;
use web_sys::RequestMode;

/// Headers a page needs to read from registry responses.
pub const EXPOSE_HEADERS: &str =
    "Docker-Content-Digest, WWW-Authenticate, Link, Content-Range, Content-Length";
pub const ALLOW_HEADERS: &str = "Authorization, Accept, Range";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorsCause {
    /// An https page may not fetch from http.
    MixedContent,
    /// Not even an opaque request got an answer: the host is down, unknown or refusing.
    Unreachable,
    /// The server answers but sends no `Access-Control-Allow-Origin` for this page.
    MissingAllowOrigin,
    /// Simple requests are readable, so the preflight (`OPTIONS`) is what fails: it must answer
    /// 2xx without credentials and allow the `Authorization` and `Accept` headers.
    PreflightRejected,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsDiagnosis {
    pub url: String,
    /// `scheme://host[:port]` of the blocked URL.
    pub server: String,
    /// The page's origin, which the server has to allow.
    pub page_origin: String,
    pub cause: CorsCause,
    /// The blocked request carried `Authorization` (so it was preflighted).
    pub had_authorization: bool,
    /// The blocked URL is a token service rather than the registry itself.
    pub token_service: bool,
    pub proxy_available: bool,
}

pub fn server_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            format!("{scheme}://{}", &rest[..end])
        }
        None => url.to_string(),
    }
}

pub async fn diagnose(
    url: &str,
    page_origin: &str,
    had_authorization: bool,
    token_service: bool,
    proxy_available: bool,
) -> CorsDiagnosis {
    let server = server_of(url);
    let cause = if page_origin.starts_with("https:") && url.starts_with("http:") {
        CorsCause::MixedContent
    } else if probe(url, RequestMode::Cors).await.is_ok() {
        CorsCause::PreflightRejected
    } else if probe(url, RequestMode::NoCors).await.is_ok() {
        CorsCause::MissingAllowOrigin
    } else {
        CorsCause::Unreachable
    };
    CorsDiagnosis {
        url: url.to_string(),
        server,
        page_origin: page_origin.to_string(),
        cause,
        had_authorization,
        token_service,
        proxy_available,
    }
}

impl CorsDiagnosis {
    pub fn headline(&self) -> String {
        let what = if self.token_service {
            "the token service"
        } else {
            "the registry"
        };
        match self.cause {
            CorsCause::MixedContent => format!("The browser blocked the request: this page is https and {what} {} is plain http (mixed content).", self.server),
            CorsCause::Unreachable => format!("The browser got no answer at all from {what} {}: it is down, its name does not resolve from this computer, or it refuses connections.", self.server),
            CorsCause::MissingAllowOrigin => format!(
                "The browser blocked the response: {what} {} answers, but sends no Access-Control-Allow-Origin header allowing {}.",
                self.server, self.page_origin
            ),
            CorsCause::PreflightRejected => format!(
                "The browser blocked the request: {what} {} does not answer the CORS preflight (OPTIONS) with a 2xx status allowing the {} header{}.",
                self.server,
                if self.had_authorization { "Authorization" } else { "Accept" },
                if self.had_authorization { "; registries with authentication answer OPTIONS with 401, which the browser treats as a refusal" } else { "" },
            ),
        }
    }

    /// `http.headers` for the distribution registry's config.yml.
    pub fn registry_config(&self) -> String {
        format!(
            "http:\n  headers:\n    Access-Control-Allow-Origin: ['{origin}']\n    Access-Control-Allow-Methods: ['HEAD', 'GET', 'OPTIONS']\n    Access-Control-Allow-Headers: [{allow}]\n    Access-Control-Expose-Headers: [{expose}]\n    Access-Control-Max-Age: [600]\n",
            origin = self.page_origin,
            allow = quoted_list(ALLOW_HEADERS),
            expose = quoted_list(EXPOSE_HEADERS),
        )
    }

    /// An nginx front that answers preflights itself, as a registry with auth never does.
    pub fn nginx_config(&self) -> String {
        format!(
            "location / {{\n    if ($request_method = OPTIONS) {{\n        add_header Access-Control-Allow-Origin \"{origin}\" always;\n        add_header Access-Control-Allow-Methods \"GET, HEAD, OPTIONS\" always;\n        add_header Access-Control-Allow-Headers \"{allow}\" always;\n        add_header Access-Control-Max-Age 600 always;\n        return 204;\n    }}\n    add_header Access-Control-Allow-Origin \"{origin}\" always;\n    add_header Access-Control-Expose-Headers \"{expose}\" always;\n    proxy_pass {upstream};\n}}\n",
            origin = self.page_origin,
            allow = ALLOW_HEADERS,
            expose = EXPOSE_HEADERS,
            upstream = self.server,
        )
    }

    pub fn serve_command(&self) -> &'static str {
        "imagescope serve"
    }
}

fn quoted_list(headers: &str) -> String {
    headers
        .split(", ")
        .map(|h| format!("'{h}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
