//! Process pool: tasks can be stopped for real. A task past its timeout, or cancelled while it
//! runs, has its worker killed and replaced; a task cancelled before it starts never runs and its
//! worker is left alone.

include!("process_pool_kill/cases.rs");
