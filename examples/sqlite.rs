//! SQLite (rusqlite, with its bundled SQLite) behind async code.
//!
//! A SQLite connection is `Send` but not `Sync`: one thread may use it at a time. So the connection lives
//! on the single thread of a one-worker `ThreadPool`, as that worker's state (`worker_state`: made once,
//! on the thread's first query), and every query is a job on that pool that borrows it
//! (`submit_with_state`). Many async
//! tasks issue queries concurrently; the pool serializes them on the connection's thread, and the loop
//! stays free: a timer keeps ticking while a deliberately slow query runs.
//!
//! `cargo run --release --example sqlite [-- rows]`

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// An async handle to a SQLite database: a one-thread pool that owns the connection.
struct Db {
    pool: tulip::ThreadPool,
}

impl Db {
    fn open(path: std::path::PathBuf) -> Result<Db, Box<dyn std::error::Error>> {
        let pool = tulip::ThreadPool::builder()
            .max_workers(1)
            .thread_name_prefix("sqlite")
            // The connection is per thread: keep the thread (and its connection) for the pool's life.
            .idle_timeout(Duration::from_secs(3600))
            .worker_state(move || -> rusqlite::Result<Connection> {
                let conn = Connection::open(&path)?;
                conn.pragma_update(None, "journal_mode", "WAL")?;
                Ok(conn)
            })
            .build()?;
        Ok(Db { pool })
    }

    /// Runs `f` with the connection on the database thread.
    async fn query<R, F>(&self, f: F) -> Result<R, Box<dyn std::error::Error>>
    where
        F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        // Unbounded queue: submitting never blocks the loop.
        let job = self.pool.submit_with_state(move |conn: &mut Connection| f(conn))?;
        Ok(job.await??)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: i64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let path = std::env::temp_dir().join(format!("tulip-sqlite-example-{}.db", std::process::id()));
    let db = Rc::new(Db::open(path.clone())?);

    let result = tulip::run({
        let db = db.clone();
        async move {
            let lp = tulip::get_running_loop();
            let t = Instant::now();
            db.query(move |c| {
                c.execute_batch(
                    "DROP TABLE IF EXISTS items;
                     CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL);",
                )?;
                let tx = c.unchecked_transaction()?;
                {
                    let mut insert = tx.prepare("INSERT INTO items (name, price) VALUES (?1, ?2)")?;
                    for i in 0..rows {
                        insert.execute((format!("item-{i}"), i % 1000))?;
                    }
                }
                tx.commit()
            })
            .await?;
            println!("inserted {rows} rows in {:?} (one transaction, on the sqlite thread)", t.elapsed());

            // A ticker on the loop: it only advances if the loop is never blocked.
            let ticks = Rc::new(Cell::new(0u32));
            let ticker = {
                let ticks = ticks.clone();
                lp.spawn(async move {
                    loop {
                        tulip::sleep(Duration::from_millis(5)).await;
                        ticks.set(ticks.get() + 1);
                    }
                })
            };

            // A slow query (a recursive CTE counting to 100 x rows), and 100 small ones issued concurrently.
            let t = Instant::now();
            let slow = lp.spawn({
                let db = db.clone();
                async move {
                    db.query(move |c| {
                        c.query_row(
                            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?1)
                             SELECT sum(x % 7) FROM n",
                            [rows * 100],
                            |r| r.get::<_, i64>(0),
                        )
                    })
                    .await
                    .map_err(|e| e.to_string())
                }
            });
            let small: Vec<_> = (0..100i64)
                .map(|i| {
                    let db = db.clone();
                    lp.spawn(async move {
                        db.query(move |c| {
                            c.query_row("SELECT name FROM items WHERE id = ?1", [i + 1], |r| {
                                r.get::<_, String>(0)
                            })
                        })
                        .await
                        .map_err(|e| e.to_string())
                    })
                })
                .collect();
            let ticks_before = ticks.get();
            let pairs = slow.await.map_err(|e| e.to_string())??;
            let slow_took = t.elapsed();
            let ticks_during = ticks.get() - ticks_before;
            let mut names = Vec::new();
            for task in small {
                names.push(task.await.map_err(|e| e.to_string())??);
            }
            ticker.cancel();
            println!("slow query: sum = {pairs} in {slow_took:?}");
            println!("meanwhile the loop's 5 ms timer ticked {ticks_during} times: it never blocked");
            println!("100 concurrent small queries answered, first: {:?}, last: {:?}", names[0], names[99]);
            println!("pool stats: {:?}", db.pool.stats());
            Ok::<_, Box<dyn std::error::Error>>(())
        }
    });
    db.pool.shutdown_timeout(Duration::MAX);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(path.with_extension("db-wal"));
    let _ = std::fs::remove_file(path.with_extension("db-shm"));
    result
}
