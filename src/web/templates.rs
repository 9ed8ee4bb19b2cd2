//! The page and email templates, embedded in the binary, with the functions and filters they use.

use std::collections::HashMap;

use anyhow::Context;
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "templates/"]
struct TemplateFiles;

pub fn load() -> anyhow::Result<tera::Tera> {
    let mut tera = tera::Tera::default();
    let files = TemplateFiles::iter()
        .map(|path| {
            let file = TemplateFiles::get(&path).context("embedded template vanished")?;
            let text = String::from_utf8(file.data.into_owned())
                .with_context(|| format!("template {path} is not UTF-8"))?;
            Ok((path.to_string(), text))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    tera.add_raw_templates(files).context("loading templates")?;
    tera.register_function(
        "asset",
        |args: &HashMap<String, tera::Value>| -> tera::Result<tera::Value> {
            let path = args
                .get("path")
                .and_then(|v| v.as_str())
                .ok_or("asset() needs path=")?;
            super::assets::url(path)
                .map(tera::Value::String)
                .ok_or_else(|| format!("no asset {path}").into())
        },
    );
    tera.register_filter("when", format_time);
    tera.register_filter("markdown", super::markdown::filter);
    tera.register_filter("contact", super::contact_links::filter);
    Ok(tera)
}

/// `{{ t | when }}`: a UTC timestamp (as sent, `…Z`, or bare as stored) as people read it, e.g.
/// "25 Nov 2026 14:03"; `seconds=true` adds seconds.
fn format_time(
    value: &tera::Value,
    args: &HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let text = value.as_str().ok_or("when: expects a timestamp")?;
    let parsed =
        crate::db::utc::parse(text).ok_or_else(|| format!("when: {text:?} is not a timestamp"))?;
    let pattern = if args.get("seconds").and_then(tera::Value::as_bool) == Some(true) {
        "%-d %b %Y %H:%M:%S"
    } else {
        "%-d %b %Y %H:%M"
    };
    Ok(tera::Value::String(parsed.format(pattern).to_string()))
}
