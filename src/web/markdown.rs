//! Markdown written by the co-design group (information sheets, consent, introductions) as HTML that is
//! safe to show to participants.

use std::collections::HashMap;

/// Markdown as HTML with only harmless tags and attributes left: co-designers write the sheet, but
/// participants read it, so nothing they type may run or load in a participant's browser.
pub fn to_safe_html(markdown: &str) -> String {
    let parser = pulldown_cmark::Parser::new_ext(
        markdown,
        pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH,
    );
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&html)
        .to_string()
}

/// `{{ text | markdown | safe }}`: Markdown written by the co-design group as HTML that is safe to show.
/// Every participant's first page shows the published sheet, and sanitising is the costly part, so the
/// HTML of recent texts is kept (up to `MARKDOWN_CACHE_BYTES` of text, then it starts again).
pub fn filter(value: &tera::Value, _: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    static RENDERED: std::sync::LazyLock<std::sync::RwLock<HashMap<String, String>>> =
        std::sync::LazyLock::new(Default::default);
    const MARKDOWN_CACHE_BYTES: usize = 1 << 20;
    let text = value.as_str().ok_or("markdown: expects text")?;
    let read = RENDERED.read().unwrap_or_else(|p| p.into_inner());
    if let Some(html) = read.get(text) {
        return Ok(tera::Value::String(html.clone()));
    }
    drop(read);
    let html = to_safe_html(text);
    let mut rendered = RENDERED.write().unwrap_or_else(|p| p.into_inner());
    let held: usize = rendered.iter().map(|(k, v)| k.len() + v.len()).sum();
    if held + text.len() + html.len() > MARKDOWN_CACHE_BYTES {
        rendered.clear();
    }
    rendered.insert(text.to_string(), html.clone());
    Ok(tera::Value::String(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_keeps_formatting_and_drops_scripts() {
        let html = to_safe_html(
            "**Bold** [site](https://example.org)\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>",
        );
        assert!(html.contains("<strong>Bold</strong>"));
        assert!(html.contains("rel=\"noopener noreferrer nofollow\""));
        assert!(!html.contains("script") && !html.contains("alert") && !html.contains("onerror"));
    }
}
