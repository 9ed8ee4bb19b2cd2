//! Uploaded bodies (a multipart file part, or a raw request body), read no further than a limit.

use actix_web::web::Bytes;
use futures_util::{Stream, StreamExt};

use crate::error::AppError;

/// A body read whole, or refused beside `field` with `too_large` once it passes `limit` bytes.
pub async fn read_limited<S, E>(
    mut stream: S,
    limit: usize,
    field: &str,
    too_large: &str,
) -> Result<Vec<u8>, AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            AppError::invalid(field, &format!("The upload broke off ({e}). Try again."))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::invalid(field, too_large));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
