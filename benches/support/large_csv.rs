//! The large shape of the PyTorch peer as a CSV file, shared by the ingest and pipeline benches,
//! and the wide shape of issue #14's scale test (1,000,000 rows x 50 columns).

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

/// A CSV of `rows` rows x 50 columns written in `scratch`: 49 numbers in [-1, 1] with six
/// decimals and a 5-class `label` that a model can learn (a band of a fixed linear function of
/// the first three numbers, so accuracy well above chance shows the data arrived intact).
#[allow(dead_code)] // the ingest bench uses the large shape only
pub fn wide_csv(scratch: &Path, rows: usize) -> PathBuf {
    const FEATURES: usize = 49;
    let path = scratch.join(format!("wide-{rows}.csv"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let header: Vec<String> =
        (0..FEATURES).map(|i| format!("x{i}")).chain(std::iter::once("label".into())).collect();
    writeln!(out, "{}", header.join(",")).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut line = String::with_capacity(512);
    let mut x = [0f64; FEATURES];
    for _ in 0..rows {
        line.clear();
        for value in &mut x {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *value = ((state >> 11) % 2_000_001) as f64 / 1e6 - 1.0;
            line.push_str(&format!("{value:.6},"));
        }
        let score = x[0] + 0.5 * x[1] - 0.75 * x[2];
        let label = ((score + 2.25) / 4.5 * 5.0).clamp(0.0, 4.0) as u32;
        writeln!(out, "{line}{label}").unwrap();
    }
    out.flush().unwrap();
    path
}
