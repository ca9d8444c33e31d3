//! CPU work in worker processes: hash and compress files with `sha2` and `flate2` in a `ProcessPool`,
//! against doing the same inline, and print the speed-up. A progress bar (`indicatif`) follows the
//! jobs as `tulip::tasks::as_completed` yields them.
//!
//! Workers are this program re-executed, which is why `tulip::process::init()` is the first line of
//! `main`: in a worker it never returns, it serves tasks.
//!
//! `cargo run --release --example cpu_offload [-- files [MiB-per-file]]`

#[cfg(windows)]
fn main() {
    println!("skipped on Windows: the process pool is Unix-only for now (README, Platforms)");
}

#[cfg(unix)]
use std::io::Write;
#[cfg(unix)]
use std::path::PathBuf;
#[cfg(unix)]
use std::time::Instant;

#[cfg(unix)]
use futures_lite::StreamExt;
#[cfg(unix)]
use sha2::{Digest, Sha256};

/// What a worker reports for one file.
#[cfg(unix)]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Summary {
    sha256: String,
    size: u64,
    gzip_size: u64,
}

/// The CPU-heavy job: a plain `fn`, so the pool can name it in the worker.
#[cfg(unix)]
fn digest_and_compress(path: PathBuf) -> Result<Summary, String> {
    let data = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let sha256 = Sha256::digest(&data).iter().map(|b| format!("{b:02x}")).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(&data).map_err(|e| e.to_string())?;
    let gzip_size = gz.finish().map_err(|e| e.to_string())?.len() as u64;
    Ok(Summary { sha256, size: data.len() as u64, gzip_size })
}

/// Writes `n` files of semi-compressible bytes (a text-like pattern with noise).
#[cfg(unix)]
fn make_files(n: usize, mib: usize) -> std::io::Result<(PathBuf, Vec<PathBuf>)> {
    let dir = std::env::temp_dir().join(format!("tulip-cpu-offload-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let words: [&[u8]; 8] =
        [b"tulip ", b"loop ", b"thread ", b"process ", b"future ", b"task ", b"pool ", b"wake "];
    let mut paths = Vec::new();
    for i in 0..n {
        let mut buf = Vec::with_capacity(mib << 20);
        while buf.len() < mib << 20 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            buf.extend_from_slice(words[(seed % 8) as usize]);
            if seed % 5 == 0 {
                buf.extend_from_slice(&seed.to_le_bytes());
            }
        }
        let p = dir.join(format!("file-{i}.bin"));
        std::fs::write(&p, &buf)?;
        paths.push(p);
    }
    Ok((dir, paths))
}

#[cfg(unix)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    tulip::process::init();

    let mut args = std::env::args().skip(1);
    let files: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let (dir, paths) = make_files(files, mib)?;
    let workers = num_cpus::get().max(2);
    println!("{files} files of {mib} MiB; sha256 + gzip each");

    let t = Instant::now();
    let inline: Vec<Summary> = paths.iter().cloned().map(digest_and_compress).collect::<Result<_, _>>()?;
    let t_inline = t.elapsed();
    println!("inline, one thread:        {t_inline:>10.1?}");

    let offloaded = tulip::run(async {
        let procs = tulip::ProcessPool::builder().max_workers(workers).build()?;
        let t = Instant::now();
        let mut jobs = Vec::new();
        for (i, p) in paths.iter().cloned().enumerate() {
            let job = procs.submit(digest_and_compress, p)?;
            // Tagged with its index: results come in completion order.
            jobs.push(async move { job.await.map(|summary| (i, summary)) });
        }
        let bar = indicatif::ProgressBar::new(jobs.len() as u64);
        let mut out: Vec<Option<Summary>> = vec![None; jobs.len()];
        let mut done = tulip::tasks::as_completed(jobs, None);
        while let Some(next) = done.next().await {
            let (i, summary) = next??;
            out[i] = Some(summary?);
            // The pool's own counts can feed a bar too: done / total / running.
            bar.set_message(format!("{} running", procs.stats().running));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let took = t.elapsed();
        // Waits for the workers to exit (dropping the pool would let them go in the background).
        procs.shutdown_timeout(std::time::Duration::MAX);
        Ok::<_, Box<dyn std::error::Error>>((out.into_iter().flatten().collect::<Vec<_>>(), took))
    });
    let (results, t_pool) = offloaded?;
    println!("ProcessPool, {workers} workers: {t_pool:>10.1?}");
    assert_eq!(inline, results, "the pool must compute the same summaries");
    let ratio: f64 =
        results.iter().map(|s| s.gzip_size as f64 / s.size as f64).sum::<f64>() / results.len() as f64;
    println!("first sha256 {}, mean gzip ratio {:.2}", results[0].sha256, ratio);
    println!("speed-up: {:.2}x", t_inline.as_secs_f64() / t_pool.as_secs_f64());
    std::fs::remove_dir_all(dir)?;
    Ok(())
}
