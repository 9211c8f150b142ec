//! Absolute URLs the server writes (share links, tile and IIIF URLs): from
//! `HUGEPIC_PUBLIC_URL` when set, else from the request (behind a proxy, from its
//! `X-Forwarded-*` headers when `--trust-proxy` says it sets them).

use axum::http::HeaderMap;

use crate::auth::Role;
use crate::config::Config;

/// Base URLs for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrls {
    /// Where the server is reached, e.g. `https://pics.example`.
    pub public: String,
    /// Where tiles are reached: a CDN in front of the tile store, or `public`.
    pub tiles: Option<String>,
}

impl BaseUrls {
    /// Works out the bases from configuration and the request's headers.
    pub fn from_request(config: &Config, headers: &HeaderMap) -> Self {
        let header = |name: &str| {
            if name.starts_with("x-forwarded-") && !config.trust_proxy {
                return None; // anyone could send them
            }
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').next().unwrap_or(v).trim().to_string())
        };
        let public = config.public_url.clone().unwrap_or_else(|| {
            let proto = header("x-forwarded-proto")
                .filter(|p| p == "http" || p == "https")
                .unwrap_or_else(|| "http".into());
            let host = header("x-forwarded-host")
                .or_else(|| header("host"))
                .filter(|h| {
                    h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
                })
                .unwrap_or_else(|| config.bind.to_string());
            format!("{proto}://{host}")
        });
        BaseUrls {
            public,
            tiles: config.public_tile_url.clone(),
        }
    }

    /// The DeepZoom descriptor of a picture.
    pub fn dzi(&self, id: &str) -> String {
        match &self.tiles {
            Some(cdn) => format!("{cdn}/{id}/image.dzi"),
            None => format!("{}/tiles/{id}/image.dzi", self.public),
        }
    }

    /// The IIIF image service id of a picture (tiles are fetched below it).
    pub fn iiif_id(&self, id: &str) -> String {
        match &self.tiles {
            Some(cdn) => format!("{cdn}/{id}/iiif"),
            None => format!("{}/iiif/{id}", self.public),
        }
    }

    /// The IIIF image id written into a stored info.json: the CDN's when tiles are
    /// served from one (clients read it there as is), else a placeholder the server
    /// replaces with the request's base whenever it serves the file.
    pub fn stored_iiif_id(public_tile_url: Option<&str>, id: &str) -> String {
        match public_tile_url {
            Some(cdn) => format!("{cdn}/{id}/iiif"),
            None => format!("/iiif/{id}"),
        }
    }

    /// The IIIF info.json of a picture (always served here, so its `id` fits the request).
    pub fn iiif_info(&self, id: &str) -> String {
        format!("{}/iiif/{id}/info.json", self.public)
    }

    /// A share link opening the viewer with `token`.
    pub fn share_link(&self, id: &str, token: &str) -> String {
        format!("{}/p/{id}?token={token}", self.public)
    }

    /// Share links for each role's token.
    pub fn links(
        &self,
        id: &str,
        tokens: &[(Role, String)],
    ) -> serde_json::Map<String, serde_json::Value> {
        tokens
            .iter()
            .map(|(role, token)| (role.as_str().to_string(), self.share_link(id, token).into()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ServeArgs};
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn config(extra: &[&str]) -> Config {
        let mut argv = vec!["hugepic"];
        argv.extend_from_slice(extra);
        Config::from_args(Cli::parse_from(argv).args).unwrap()
    }

    #[test]
    fn from_request_headers_and_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "localhost:9000".parse().unwrap());
        let urls = BaseUrls::from_request(&config(&[]), &headers);
        assert_eq!(urls.dzi("p1"), "http://localhost:9000/tiles/p1/image.dzi");
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        headers.insert("x-forwarded-host", "pics.example".parse().unwrap());
        let untrusted = BaseUrls::from_request(&config(&[]), &headers);
        assert_eq!(
            untrusted.iiif_id("p1"),
            "http://localhost:9000/iiif/p1",
            "forwarded headers are ignored unless the proxy is trusted"
        );
        let urls = BaseUrls::from_request(&config(&["--trust-proxy"]), &headers);
        assert_eq!(urls.iiif_id("p1"), "https://pics.example/iiif/p1");
        assert_eq!(
            urls.share_link("p1", "t"),
            "https://pics.example/p/p1?token=t"
        );
    }

    #[test]
    fn configured_urls_win() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "evil.example".parse().unwrap());
        let urls = BaseUrls::from_request(
            &config(&[
                "--public-url",
                "https://hugepic.example/",
                "--public-tile-url",
                "https://cdn.example",
            ]),
            &headers,
        );
        assert_eq!(urls.public, "https://hugepic.example");
        assert_eq!(urls.dzi("p1"), "https://cdn.example/p1/image.dzi");
        assert_eq!(
            urls.iiif_info("p1"),
            "https://hugepic.example/iiif/p1/info.json"
        );
    }
}
