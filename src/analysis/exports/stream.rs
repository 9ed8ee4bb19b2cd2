//! Export files sent while they are written, so that an export holds a page of rows and a few chunks
//! of output, not the whole file. The file is written on a blocking thread that reads the database a
//! page at a time; what it writes goes out in chunks through a bounded channel, so a slow client holds
//! the writer back rather than letting output pile up. A database connection is held only while a page
//! is read, never while the client catches up.
//!
//! A file that fails half-way must not look complete: the response then ends with an error (the
//! connection is cut before the end of the chunked body), never with the bytes written so far alone.

use std::io::{self, Write};

use actix_web::body::{BodyStream, BoxBody, MessageBody};
use actix_web::web::Bytes;
use futures_util::stream;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use crate::db::{Db, DbConnection};
use crate::error::AppError;

/// What the writer gathers before handing a chunk to the response.
const CHUNK: usize = 64 * 1024;
/// Chunks written but not yet sent; with the one being filled, all the output an export holds.
const QUEUED: usize = 2;

/// Reads the database for a writer on its blocking thread, one short checkout per page.
pub struct Pages {
    db: Db,
    runtime: Handle,
}

impl Pages {
    pub fn read<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        // The writer runs on a blocking thread, where waiting for the pool's own thread is allowed.
        self.runtime.block_on(self.db.read(work))
    }
}

/// Where an export writes: chunks for the response. A write waits while the client is behind; once
/// the client has gone, writes fail and the export stops.
pub struct Sink {
    chunks: mpsc::Sender<Bytes>,
    buffer: Vec<u8>,
}

impl Sink {
    fn send(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        self.chunks
            .blocking_send(Bytes::from(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the download was abandoned"))
    }

    fn finish(mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            Ok(())
        } else {
            self.send()
        }
    }
}

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A response body written by `write` on a blocking thread. It ends when `write` returns; if that is
/// an error (or a panic), the body ends with the error so the client sees a broken download.
pub fn body<F>(db: &Db, write: F) -> BoxBody
where
    F: FnOnce(&Pages, &mut Sink) -> Result<(), AppError> + Send + 'static,
{
    let (chunks, received) = mpsc::channel(QUEUED);
    let pages = Pages {
        db: db.clone(),
        runtime: Handle::current(),
    };
    let writer = tokio::task::spawn_blocking(move || {
        let mut sink = Sink {
            chunks,
            buffer: Vec::with_capacity(CHUNK),
        };
        write(&pages, &mut sink)?;
        sink.finish().map_err(AppError::internal)
    });
    let chunks = stream::unfold(
        (received, Some(writer)),
        |(mut received, writer)| async move {
            if let Some(chunk) = received.recv().await {
                return Some((Ok(chunk), (received, writer)));
            }
            let error = match writer?.await {
                Ok(Ok(())) => return None,
                Ok(Err(error)) => error,
                Err(failed) => AppError::internal(failed),
            };
            tracing::error!(%error, "an export failed after its first bytes were sent");
            Some((Err(error), (received, None)))
        },
    );
    BodyStream::new(chunks).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(body: BoxBody) -> Result<Vec<u8>, String> {
        actix_web::body::to_bytes(body)
            .await
            .map(|b| b.to_vec())
            .map_err(|e| e.to_string())
    }

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(
            &format!("sqlite://{}", dir.path().join("t.db").display()),
            2,
        )
        .unwrap();
        (dir, db)
    }

    #[actix_web::test]
    async fn every_byte_arrives_in_order_however_many_chunks() {
        let (_dir, db) = db();
        let body = body(&db, |_, sink| {
            for i in 0..100_000u32 {
                writeln!(sink, "{i}").map_err(AppError::internal)?;
            }
            Ok(())
        });
        let text = String::from_utf8(read_all(body).await.unwrap()).unwrap();
        assert_eq!(text.lines().count(), 100_000);
        assert_eq!(text.lines().last(), Some("99999"));
    }

    #[actix_web::test]
    async fn a_failure_after_the_first_chunks_breaks_the_body() {
        let (_dir, db) = db();
        let body = body(&db, |pages, sink| {
            sink.write_all(&vec![b'x'; 3 * CHUNK])
                .map_err(AppError::internal)?;
            pages.read(|conn| {
                use diesel::connection::SimpleConnection;
                conn.batch_execute("SELECT * FROM no_such_table")
                    .map_err(AppError::from)
            })
        });
        assert!(read_all(body).await.is_err(), "not a complete-looking file");
        let panicked = super::body(&db, |_, sink| {
            sink.write_all(b"half").map_err(AppError::internal)?;
            panic!("a bug");
        });
        assert!(read_all(panicked).await.is_err());
    }
}
