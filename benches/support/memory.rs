//! The process's memory as the kernel reports it, for the benches that print it.

/// A field of `/proc/self/status` (`VmRSS:`, `VmHWM:`), in KiB.
pub fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Resets the process's peak resident memory (`VmHWM`) to its current size, so that the next
/// reading of `VmHWM:` is the peak of what ran since (Linux: `/proc/self/clear_refs`).
#[allow(dead_code)] // the pipeline bench's; the ingest bench reads the peak of its whole run
pub fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}
