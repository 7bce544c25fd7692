//! Where an uploaded dataset's bytes come from.

use std::path::PathBuf;

use bytes::Bytes;
use futures::StreamExt;
use modelyard_core::{ByteStream, Error, Result};

/// The source of a dataset upload: a file, bytes in memory, or a stream.
pub enum Upload {
    /// A file on this machine, streamed.
    Path(PathBuf),
    /// Bytes in memory, with the file name to record.
    Bytes {
        /// Recorded (sanitised) as the original file name.
        filename: String,
        /// The CSV.
        data: Bytes,
    },
    /// A stream of chunks, with the file name to record.
    Stream {
        /// Recorded (sanitised) as the original file name.
        filename: String,
        /// The CSV, chunk by chunk.
        data: ByteStream,
    },
}

/// How much of a file an upload reads at a time.
const READ_CHUNK_BYTES: usize = 256 * 1024;

impl Upload {
    /// A file on this machine.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        Self::Path(path.into())
    }

    /// Bytes in memory.
    pub fn bytes(filename: impl Into<String>, data: impl Into<Bytes>) -> Self {
        Self::Bytes { filename: filename.into(), data: data.into() }
    }

    /// The recorded file name and the byte stream.
    pub(crate) async fn open(self) -> Result<(String, ByteStream)> {
        match self {
            Self::Path(path) => {
                let filename =
                    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let file = tokio::fs::File::open(&path).await.map_err(|err| {
                    Error::validation("path", format!("cannot open {}: {err}", path.display()))
                })?;
                // Big reads: each one is a trip to tokio's blocking pool.
                let stream = tokio_util::io::ReaderStream::with_capacity(file, READ_CHUNK_BYTES)
                    .map(|chunk| chunk.map_err(|err| Error::validation("path", err.to_string())));
                Ok((filename, stream.boxed()))
            }
            Self::Bytes { filename, data } => {
                Ok((filename, futures::stream::once(async move { Ok(data) }).boxed()))
            }
            Self::Stream { filename, data } => Ok((filename, data)),
        }
    }
}
