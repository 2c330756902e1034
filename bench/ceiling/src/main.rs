//! Raw SQLite insert ceiling for Padron's `identities` row shape.
//!
//! Creates a fresh database from Padron's own SQLite migrations (so the table and its seven
//! indexes are exactly Padron's), switches it to WAL with the given `synchronous` level, and runs
//! N writer threads, each with its own connection, each inserting one row per transaction
//! (`BEGIN IMMEDIATE; INSERT; COMMIT`) for a fixed time. Prints one line of JSON.
//!
//! usage: padron-ceiling --db FILE --migrations DIR [--sync FULL|NORMAL] [--writers N] [--seconds S]

use rusqlite::{Connection, params};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn open(path: &str, sync: &str) -> Connection {
    let c = Connection::open(path).expect("open");
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "synchronous", sync).unwrap();
    c
}

/// A valid Chilean RUT for body `n` (mod-11 check digit).
fn rut(n: u64) -> String {
    let (mut s, mut m, mut x) = (0u64, 2u64, n);
    while x > 0 {
        s += (x % 10) * m;
        x /= 10;
        m = if m == 7 { 2 } else { m + 1 };
    }
    let d = match 11 - (s % 11) {
        11 => "0".to_string(),
        10 => "K".to_string(),
        v => v.to_string(),
    };
    format!("{n}-{d}")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let db = arg(&args, "--db").expect("--db FILE");
    let migrations = arg(&args, "--migrations").expect("--migrations DIR");
    let sync = arg(&args, "--sync").unwrap_or_else(|| "FULL".into()).to_uppercase();
    let writers: usize = arg(&args, "--writers").map_or(1, |v| v.parse().unwrap());
    let seconds: f64 = arg(&args, "--seconds").map_or(5.0, |v| v.parse().unwrap());
    assert!(sync == "FULL" || sync == "NORMAL", "--sync FULL|NORMAL");
    assert!((1..=256).contains(&writers) && seconds > 0.0 && seconds <= 600.0);

    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{db}{suffix}"));
    }
    {
        let c = open(&db, &sync);
        let mut files: Vec<_> = std::fs::read_dir(&migrations)
            .expect("migrations dir")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        for f in files {
            c.execute_batch(&std::fs::read_to_string(f).unwrap()).unwrap();
        }
    }

    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let busy = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let (db, sync, stop, total, busy) =
                (db.clone(), sync.clone(), stop.clone(), total.clone(), busy.clone());
            std::thread::spawn(move || {
                let c = open(&db, &sync);
                let mut n: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    let seq = (w as u64) * 100_000_000 + n;
                    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as i64;
                    let id = format!("{:012x}{:04x}{:08x}", now, w, n);
                    let body = 10_000_000 + seq % 89_999_999;
                    let doc = rut(body);
                    let email = format!("user{w}x{n}@bench.example.com");
                    let attrs = r#"{"nickname":"bench","idv":"iv-1","security":{"two_factor_auth":false,"sign_trx":false,"sign_accounts_operations":false,"scopes":[]}}"#;
                    let r = (|| -> rusqlite::Result<()> {
                        c.execute_batch("BEGIN IMMEDIATE")?;
                        let mut st = c.prepare_cached(
                            "insert into identities (client_id, environment, id, kind, name, email, email_key, \
                             phone, phone_key, country, document_type, document_number, document_key, status, \
                             external_id, attributes, created_at, updated_at, version, deleted_at) \
                             values (?1,'sandbox',?2,'USER',?3,?4,?5,?6,?7,'CHL','RUT',?8,?9,'ACTIVE',null,?10,?11,?11,1,null)",
                        )?;
                        st.execute(params![
                            "cli_0123456789abcdef01234567", id, "Bench User", email, email,
                            "+56912345678", "+56912345678", doc, doc.replace('-', ""), attrs, now
                        ])?;
                        c.execute_batch("COMMIT")
                    })();
                    match r {
                        Ok(()) => {
                            total.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            busy.fetch_add(1, Ordering::Relaxed);
                            let _ = c.execute_batch("ROLLBACK");
                        }
                    }
                    n += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let rows = total.load(Ordering::Relaxed);
    println!(
        "{{\"sync\":\"{sync}\",\"writers\":{writers},\"seconds\":{elapsed:.2},\"rows\":{rows},\"errors\":{},\"rows_per_s\":{:.0}}}",
        busy.load(Ordering::Relaxed),
        rows as f64 / elapsed
    );
}
