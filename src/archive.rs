//! What a user downloads: a trained model as one zip archive, a dataset as CSV.

use std::io::{Read, Write};

use bytes::Bytes;
use modelyard_core::ByteStream;
use zip::write::SimpleFileOptions;

use crate::{ArtifactFile, Dataset, Error, Result};

/// One file of a trained model, with its bytes (`weights.safetensors`, `model.json`).
#[derive(Clone, PartialEq, Eq)]
pub struct ModelFile {
    /// The file's name inside the artifact.
    pub name: String,
    /// Its contents.
    pub bytes: Bytes,
}

/// Shows names and sizes, not the bytes.
impl std::fmt::Debug for ModelFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelFile")
            .field("name", &self.name)
            .field("size_bytes", &self.bytes.len())
            .finish()
    }
}

/// A trained model as one zip archive of its artifact files, loadable outside Modelyard
/// (`weights.safetensors` with the safetensors package, `model.json` with any JSON reader).
#[derive(Clone, PartialEq, Eq)]
pub struct ModelArchive {
    /// A file name to save it under: the model's name with `.zip`.
    pub filename: String,
    /// The files inside, in archive order.
    pub files: Vec<ArtifactFile>,
    /// The archive's bytes (deflate-compressed zip).
    pub zip: Bytes,
}

impl ModelArchive {
    /// Packs `files` into a zip archive offered as `filename`.
    pub fn pack(filename: String, files: &[ModelFile]) -> Result<Self> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for file in files {
            writer.start_file(file.name.as_str(), options).map_err(Error::internal)?;
            writer.write_all(&file.bytes).map_err(Error::internal)?;
        }
        let zip = writer.finish().map_err(Error::internal)?.into_inner();
        Ok(Self {
            filename,
            files: files
                .iter()
                .map(|f| ArtifactFile { name: f.name.clone(), size_bytes: f.bytes.len() as u64 })
                .collect(),
            zip: Bytes::from(zip),
        })
    }

    /// Reads the files back out of the archive, in archive order.
    pub fn unpack(&self) -> Result<Vec<ModelFile>> {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(self.zip.as_ref()))
            .map_err(|err| Error::validation("zip", err.to_string()))?;
        (0..archive.len())
            .map(|at| {
                let mut entry = archive
                    .by_index(at)
                    .map_err(|err| Error::validation("zip", err.to_string()))?;
                let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|err| Error::validation("zip", err.to_string()))?;
                Ok(ModelFile { name: entry.name().to_owned(), bytes: Bytes::from(bytes) })
            })
            .collect()
    }
}

/// Shows the file name and contents, not the bytes.
impl std::fmt::Debug for ModelArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelArchive")
            .field("filename", &self.filename)
            .field("files", &self.files)
            .field("size_bytes", &self.zip.len())
            .finish()
    }
}

/// A dataset's CSV, streamed, with formula-like cells neutralised for spreadsheets.
pub struct DatasetDownload {
    /// The dataset.
    pub dataset: Dataset,
    /// A file name to save it under: the dataset's name with `.csv`.
    pub filename: String,
    /// The CSV, chunk by chunk.
    pub csv: ByteStream,
}

impl DatasetDownload {
    /// Reads the whole CSV into memory.
    pub async fn bytes(self) -> Result<Bytes> {
        use futures::TryStreamExt;
        let chunks: Vec<Bytes> = self.csv.try_collect().await?;
        Ok(Bytes::from(chunks.concat()))
    }
}

impl std::fmt::Debug for DatasetDownload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetDownload")
            .field("dataset", &self.dataset.id)
            .field("filename", &self.filename)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_archive_round_trips_its_files() {
        let files = vec![
            ModelFile { name: "weights.safetensors".into(), bytes: Bytes::from(vec![7u8; 5000]) },
            ModelFile { name: "model.json".into(), bytes: Bytes::from_static(b"{\"task\":1}") },
        ];
        let archive = ModelArchive::pack("iris mlp.zip".into(), &files).unwrap();
        assert_eq!(
            archive.files[0],
            ArtifactFile { name: "weights.safetensors".into(), size_bytes: 5000 }
        );
        assert!(archive.zip.starts_with(b"PK\x03\x04"));
        assert!(archive.zip.len() < 5000, "compressed: {} bytes", archive.zip.len());
        assert_eq!(archive.unpack().unwrap(), files);
    }

    #[test]
    fn a_broken_archive_is_a_validation_error() {
        let archive = ModelArchive {
            filename: "x.zip".into(),
            files: Vec::new(),
            zip: Bytes::from_static(b"not a zip"),
        };
        assert_eq!(archive.unpack().unwrap_err().code(), "VALIDATION");
    }
}
