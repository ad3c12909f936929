//! Prints, in microseconds, how long this process's first and second TLS
//! client hellos take to go out (to a 127.0.0.1 listener that hangs up):
//! the first is the process's first use of AWS-LC's random generator, so it
//! carries the one-time entropy collection (CPU jitter unless built with
//! `AWS_LC_SYS_NO_JITTER_ENTROPY=1`); the second does not. The functions draw
//! no randomness during init, so in Lambda this cost lands on each
//! container's first HTTPS call. Run by `bench-init` (BENCHMARKS.md).

use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            // Read the client hello, then hang up.
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
        }
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let url = format!("https://127.0.0.1:{port}/");
    let mut times = Vec::new();
    for _ in 0..2 {
        let client = reqwest::Client::builder().build()?;
        let started = Instant::now();
        // Fails (the listener hangs up): only the hello matters.
        let _ = runtime.block_on(client.get(&url).send());
        times.push(started.elapsed().as_micros());
    }
    println!("{} {}", times[0], times[1]);
    Ok(())
}
