//! The large shape of the PyTorch peer as a CSV file, shared by the ingest and pipeline benches.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The CSV to ingest: `$PEERDATA/large.csv`, or one of its shape written here.
pub fn csv_file(scratch: &Path) -> PathBuf {
    if let Ok(dir) = std::env::var("PEERDATA") {
        return Path::new(&dir).join("large.csv");
    }
    let path = scratch.join("large.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let header: Vec<String> =
        (0..784).map(|i| format!("x{i}")).chain(std::iter::once("label".into())).collect();
    writeln!(out, "{}", header.join(",")).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..20_000 {
        let mut line = String::with_capacity(4096);
        for _ in 0..784 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            line.push_str(&format!("{x:.6},"));
        }
        line.push_str(&(state % 10).to_string());
        writeln!(out, "{line}").unwrap();
    }
    out.flush().unwrap();
    path
}
