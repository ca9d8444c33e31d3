//! [`SpawnError`]: why a child could not be started.

use std::fmt;
use std::io;

/// Why [`Command::spawn`](super::Command::spawn) started no child.
///
/// Each cause a user can make (a wrong program name, a directory, a file without the execute bit, a
/// NUL byte in an argument) has its own variant; the rest keeps the OS error's kind and text.
///
/// # Examples
///
/// ```
/// use tulip::subprocess::{Command, SpawnError};
/// tulip::run(async {
///     let err = Command::new("/no/such/program").spawn().unwrap_err();
///     assert_eq!(err, SpawnError::NotFound { program: "/no/such/program".into() });
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpawnError {
    /// No such program (not on `PATH`, or no file at the path given).
    NotFound {
        /// The program as it was given.
        program: String,
    },
    /// The program names a directory.
    IsADirectory {
        /// The program as it was given.
        program: String,
    },
    /// The program is a file this user may not execute (no execute bit, or not a valid executable).
    NotExecutable {
        /// The program as it was given.
        program: String,
    },
    /// The working directory set with [`current_dir`](super::Command::current_dir) does not exist
    /// or is not a directory.
    BadCurrentDir {
        /// The directory as it was given.
        dir: String,
    },
    /// A NUL byte in the program, an argument or an environment entry; says which.
    Nul {
        /// What held the NUL byte, e.g. `argument 2`.
        what: String,
    },
    /// No event loop runs on this thread: a child's pipes and its exit live on one.
    NoLoop,
    /// Any other OS failure (too many processes or open files, ...).
    Io {
        /// The OS error's kind.
        kind: io::ErrorKind,
        /// The OS error's text.
        message: String,
    },
}

impl SpawnError {
    pub(crate) fn io(e: &io::Error) -> SpawnError {
        SpawnError::Io { kind: e.kind(), message: e.to_string() }
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::NotFound { program } => write!(f, "cannot spawn {program:?}: no such program"),
            SpawnError::IsADirectory { program } => write!(f, "cannot spawn {program:?}: it is a directory"),
            SpawnError::NotExecutable { program } => {
                write!(f, "cannot spawn {program:?}: not an executable file (check its execute permission)")
            }
            SpawnError::BadCurrentDir { dir } => {
                write!(f, "cannot spawn: working directory {dir:?} does not exist or is not a directory")
            }
            SpawnError::Nul { what } => write!(f, "cannot spawn: {what} contains a NUL byte"),
            SpawnError::NoLoop => write!(f, "cannot spawn: no tulip event loop runs on this thread"),
            SpawnError::Io { message, .. } => write!(f, "cannot spawn: {message}"),
        }
    }
}

impl std::error::Error for SpawnError {}

impl From<SpawnError> for io::Error {
    fn from(e: SpawnError) -> io::Error {
        let kind = match &e {
            SpawnError::NotFound { .. } | SpawnError::BadCurrentDir { .. } => io::ErrorKind::NotFound,
            SpawnError::IsADirectory { .. } | SpawnError::NotExecutable { .. } => {
                io::ErrorKind::PermissionDenied
            }
            SpawnError::Nul { .. } => io::ErrorKind::InvalidInput,
            SpawnError::NoLoop => io::ErrorKind::Other,
            SpawnError::Io { kind, .. } => *kind,
        };
        io::Error::new(kind, e)
    }
}
