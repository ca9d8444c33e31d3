use std::os::unix::fs::PermissionsExt;

use tulip::subprocess::{Command, SpawnError};

fn spawn_err(cmd: &mut Command) -> SpawnError {
    tulip::run(async { cmd.spawn().map(drop).unwrap_err() })
}

#[test]
fn missing_program() {
    let err = spawn_err(&mut Command::new("/no/such/program"));
    assert_eq!(err, SpawnError::NotFound { program: "/no/such/program".into() });
    assert!(err.to_string().contains("no such program"), "{err}");
    let err = spawn_err(&mut Command::new("tulip-no-such-program-on-path"));
    assert!(matches!(err, SpawnError::NotFound { .. }), "{err:?}");
}

#[test]
fn a_directory() {
    let err = spawn_err(&mut Command::new("/tmp"));
    assert_eq!(err, SpawnError::IsADirectory { program: "/tmp".into() });
}

#[test]
fn not_executable() {
    let dir = std::env::temp_dir().join(format!("tulip-noexec-{}", std::process::id()));
    std::fs::write(&dir, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = spawn_err(&mut Command::new(&dir));
    std::fs::remove_file(&dir).unwrap();
    assert!(matches!(err, SpawnError::NotExecutable { .. }), "{err:?}");
}

#[test]
fn nul_in_an_argument() {
    let err = spawn_err(Command::new("echo").arg("ok").arg("a\0b"));
    assert_eq!(err, SpawnError::Nul { what: "argument 2".into() });
    let err = spawn_err(Command::new("echo").env("K", "v\0"));
    assert!(matches!(err, SpawnError::Nul { .. }), "{err:?}");
}

#[test]
fn bad_working_directory() {
    let err = spawn_err(Command::new("true").current_dir("/no/such/dir"));
    assert_eq!(err, SpawnError::BadCurrentDir { dir: "/no/such/dir".into() });
}

#[test]
fn no_running_loop() {
    assert_eq!(Command::new("true").spawn().map(drop).unwrap_err(), SpawnError::NoLoop);
}

#[test]
fn output_carries_the_typed_error() {
    let err = tulip::run(async { Command::new("/no/such/program").output().await.unwrap_err() });
    let inner = err.get_ref().and_then(|e| e.downcast_ref::<SpawnError>());
    assert!(matches!(inner, Some(SpawnError::NotFound { .. })), "{err:?}");
}
