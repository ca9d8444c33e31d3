//! STUB, replaced by the reactor commit.
use crate::sync::Arc;

/// STUB
#[derive(Clone, Debug)]
pub struct LoopHandle {
    _shared: Arc<()>,
}

impl LoopHandle {
    pub(crate) fn report_error_threadsafe(&self, message: String) {
        log::error!("{message}");
    }
}
