//! Process pool: tiny tasks are not sent to wait behind a task that has run longer than the
//! pipelining budget while another worker can take them (issue 11, item 9: with pipelining up to
//! 512 deep, half of 600 tiny tasks waited behind one long task while the other worker idled).

include!("process_pool_head_of_line/cases.rs");
