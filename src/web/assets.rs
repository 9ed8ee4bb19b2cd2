//! CSS, JS and images, embedded in the binary. URLs carry a content hash (`?v=`), so a matching request
//! may be cached for a year and a new release is fetched at once.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "assets/"]
// The vendoring script and the design system's licence note are for the repository, not the web.
#[exclude = "*.sh"]
#[exclude = "*.md"]
struct Files;

/// Asset path → its content hash. The files are part of the binary, so one index serves the process.
fn hashes() -> &'static HashMap<String, String> {
    static HASHES: std::sync::OnceLock<HashMap<String, String>> = std::sync::OnceLock::new();
    HASHES.get_or_init(|| {
        Files::iter()
            .filter_map(|path| {
                let file = Files::get(&path)?;
                let digest = hex::encode(&file.metadata.sha256_hash()[..6]);
                Some((path.to_string(), digest))
            })
            .collect()
    })
}

/// The asset's URL with its content hash, or None when there is no such asset.
pub fn url(path: &str) -> Option<String> {
    hashes()
        .get(path)
        .map(|hash| format!("/assets/{path}?v={hash}"))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

pub async fn serve(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let path = path.into_inner();
    let (Some(file), Some(hash)) = (Files::get(&path), hashes().get(&path)) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("Not found");
    };
    let etag = format!("\"{hash}\"");
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    let versioned = req.query_string() == format!("v={hash}");
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache));
    if fresh {
        response.finish()
    } else {
        response
            .content_type(content_type(&path))
            .body(file.data.into_owned())
    }
}
