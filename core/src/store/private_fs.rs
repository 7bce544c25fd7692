//! Files and folders only their owner may read, for the stores that keep data on local disk:
//! folders 0700, files 0600 (Unix modes; elsewhere the platform's defaults).

use std::io;
use std::path::Path;

/// Creates `dir` and its missing parents as 0700 folders; an existing `dir` is narrowed to 0700
/// as well, so a data directory made by an older version stops being world-readable.
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// [`create_private_dir_all`] without blocking the runtime, for new folders only.
pub async fn create_private_dirs(dir: &Path) -> io::Result<()> {
    let mut builder = tokio::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir).await
}

/// Creates the new file `path` (an error if it exists) as 0600, for writing.
pub async fn create_private_file(path: &Path) -> io::Result<tokio::fs::File> {
    tokio::fs::OpenOptions::from(new_private_file()).open(path).await
}

/// Writes `bytes` to the new file `path` (an error if it exists) as 0600, synced to disk.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = new_private_file().open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Options that create a new 0600 file for writing, never reopening an existing one.
fn new_private_file() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn folders_are_0700_and_files_0600() {
        let root = tempfile::tempdir().unwrap();
        let existing = root.path().join("old");
        std::fs::create_dir(&existing).unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir_all(&existing).unwrap();
        assert_eq!(mode(&existing), 0o700);
        let nested = root.path().join("a/b");
        create_private_dir_all(&nested).unwrap();
        assert_eq!((mode(&root.path().join("a")), mode(&nested)), (0o700, 0o700));
        let deeper = nested.join("c/d");
        create_private_dirs(&deeper).await.unwrap();
        assert_eq!(mode(&deeper), 0o700);
        let file = deeper.join("f");
        drop(create_private_file(&file).await.unwrap());
        assert_eq!(mode(&file), 0o600);
        assert!(create_private_file(&file).await.is_err(), "never reopens an existing file");
        let written = deeper.join("g");
        write_private_file(&written, b"secret").unwrap();
        assert_eq!((mode(&written), std::fs::read(&written).unwrap()), (0o600, b"secret".to_vec()));
        assert!(write_private_file(&written, b"again").is_err());
    }
}
