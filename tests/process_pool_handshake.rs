//! Process pool: the handshake. A program that never calls `tulip::process::init()` cannot start a
//! pool (instead of running its `main` again in every worker), and a worker that does not reach
//! `init()` fails the handshake with an error saying so.

include!("process_pool_handshake/cases.rs");
