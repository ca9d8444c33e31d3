//! STUB, replaced by the reactor commit.
use crate::handle::LoopHandle;

/// STUB
#[derive(Clone, Debug)]
pub struct EventLoop {}

impl EventLoop {
    /// STUB
    pub fn handle(&self) -> LoopHandle {
        unimplemented!()
    }
}

/// STUB
pub fn try_get_running_loop() -> Option<EventLoop> {
    None
}

pub(crate) fn loop_lives_on_this_thread(_id: u64) -> bool {
    false
}
