//! Process pool: a done-callback (which runs on the pool's driver thread) that waits on another task
//! of the same pool fails at once with `WouldDeadlock` instead of freezing the pool forever
//! (issue 11, item 4).

include!("process_pool_callback_waits_on_pool/cases.rs");
