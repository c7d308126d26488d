//! The shared service skeleton: arguments, --check-config, logging helpers,
//! signals, pid files.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use clap::Parser;
use kc_configs::service::{self, kc_level_filter, ReopenableFile, StandardArgs};
use kc_configs::{schemas, Config};
use tracing::level_filters::LevelFilter;

#[derive(Debug, Parser)]
#[command(name = "kc-test", version)]
struct Cli {
    #[command(flatten)]
    std: StandardArgs,
}

#[test]
fn standard_args_parse() {
    let cli = Cli::try_parse_from(["kc-test", "-c", "/tmp/x.cfg", "-F", "--check-config"]).unwrap();
    assert_eq!(cli.std.config.as_deref(), Some(Path::new("/tmp/x.cfg")));
    assert!(cli.std.foreground);
    assert!(cli.std.check_config);
    let cli = Cli::try_parse_from(["kc-test"]).unwrap();
    assert!(!cli.std.foreground);
    assert_eq!(
        cli.std.config_path(schemas::server()),
        Path::new("/etc/kopano/server.cfg")
    );
    let cli = Cli::try_parse_from(["kc-test", "--config", "rel.cfg"]).unwrap();
    assert!(cli.std.config_path(schemas::server()).is_absolute());
    let e = Cli::try_parse_from(["kc-test", "--version"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::DisplayVersion);
}

#[test]
fn check_config_prints_masked_effective_config() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("server.cfg");
    std::fs::write(&p, "server_name = z1\nserver_ssl_key_pass = topsecret\nserver_tcp_port = 1\nserver_listen = *:236\n").unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = service::check_config(&p, schemas::server(), &mut out, &mut err);
    let out = String::from_utf8(out).unwrap();
    let err = String::from_utf8(err).unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\nserver_name = z1\n"), "{out}");
    assert!(
        out.contains(&format!("# set at {}:1\nserver_name = z1\n", p.display())),
        "{out}"
    );
    assert!(out.contains("\nserver_ssl_key_pass = ********\n"), "{out}");
    assert!(!out.contains("topsecret"));
    assert!(out.contains("\nserver_hostname =\n"));
    assert!(err.starts_with("warning: "), "{err}");
    // The report is itself a valid configuration with the same values.
    let reparsed = Config::parse(&out.replace("********", "x"), &p, schemas::server()).unwrap();
    assert_eq!(reparsed.str("server_name"), "z1");
}

#[test]
fn check_config_reports_errors_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("gateway.cfg");
    std::fs::write(&p, "imap_listen = *:143\n\nimap_lisen = *:1143\n").unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = service::check_config(&p, schemas::gateway(), &mut out, &mut err);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_eq!(
        String::from_utf8(err).unwrap(),
        format!(
            "{}:3: unknown option 'imap_lisen' (did you mean 'imap_listen'?)\n",
            p.display()
        )
    );
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = service::check_config(
        &dir.path().join("missing.cfg"),
        schemas::gateway(),
        &mut out,
        &mut err,
    );
    assert_eq!(code, 1);
}

#[test]
fn kc_log_levels_map_onto_tracing() {
    assert_eq!(kc_level_filter(0), LevelFilter::OFF);
    assert_eq!(kc_level_filter(1), LevelFilter::ERROR);
    assert_eq!(kc_level_filter(2), LevelFilter::ERROR);
    assert_eq!(kc_level_filter(3), LevelFilter::WARN);
    assert_eq!(kc_level_filter(4), LevelFilter::INFO);
    assert_eq!(kc_level_filter(5), LevelFilter::DEBUG);
    assert_eq!(kc_level_filter(6), LevelFilter::TRACE);
    assert_eq!(kc_level_filter(0x0002_0003), LevelFilter::WARN);
    assert_eq!(kc_level_filter(0x0000_0106), LevelFilter::TRACE);
}

#[test]
fn reopenable_file_follows_rotation() {
    use tracing_subscriber::fmt::MakeWriter;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("x.log");
    let f = ReopenableFile::open(&log).unwrap();
    f.make_writer().write_all(b"one\n").unwrap();
    std::fs::rename(&log, dir.path().join("x.log.1")).unwrap();
    f.make_writer().write_all(b"two\n").unwrap();
    f.reopen().unwrap();
    f.make_writer().write_all(b"three\n").unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("x.log.1")).unwrap(),
        "one\ntwo\n"
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "three\n");
}

#[test]
fn init_logging_to_file_and_level_changes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("kc.log");
    let mut cfg = Config::defaults(schemas::gateway());
    cfg.set("log_file", log.to_str().unwrap()).unwrap();
    cfg.set("log_level", "4").unwrap();
    let guard = service::init_logging(&cfg, "gateway");
    assert_eq!(guard.target(), format!("file {}", log.display()));
    assert_eq!(guard.level(), LevelFilter::INFO);
    guard.set_level(0x0002_0006);
    assert_eq!(guard.level(), LevelFilter::TRACE);
    cfg.set("log_level", "2").unwrap();
    guard.reload(&cfg).unwrap();
    assert_eq!(guard.level(), LevelFilter::ERROR);
    assert!(log.exists());

    let mut bad = Config::defaults(schemas::gateway());
    bad.set(
        "log_file",
        dir.path().join("no/such/dir/x.log").to_str().unwrap(),
    )
    .unwrap();
    assert_eq!(service::init_logging(&bad, "gateway").target(), "stderr");
    let mut dash = Config::defaults(schemas::gateway());
    dash.set("log_file", "-").unwrap();
    assert_eq!(service::init_logging(&dash, "gateway").target(), "stderr");
    dash.set("log_method", "syslog").unwrap();
    assert_eq!(service::init_logging(&dash, "gateway").target(), "syslog");
}

#[test]
fn pid_file_written_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.pid");
    {
        let _pid = service::write_pid_file(&p).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            format!("{}\n", std::process::id())
        );
    }
    assert!(!p.exists());
}

#[test]
fn drop_privileges_is_noop_without_users() {
    let mut cfg = Config::defaults(schemas::server());
    cfg.set("run_as_user", "").unwrap();
    cfg.set("run_as_group", "").unwrap();
    service::drop_privileges(&cfg).unwrap();
    // admin.cfg has no run_as_* options at all.
    service::drop_privileges(&Config::defaults(schemas::admin())).unwrap();
}

#[tokio::test]
async fn signals_deliver_hup_and_shutdown() {
    let s = service::signals();
    let mut hup = s.subscribe_hup();
    // SAFETY: raise() only sends a signal to this process, whose handler tokio installed.
    assert_eq!(unsafe { libc::raise(libc::SIGHUP) }, 0);
    hup.recv().await.unwrap();
    s.trigger_hup();
    hup.recv().await.unwrap();

    assert!(!s.is_shutting_down());
    let mut rx = s.shutdown();
    // SAFETY: as above.
    assert_eq!(unsafe { libc::raise(libc::SIGTERM) }, 0);
    rx.wait_for(|v| *v).await.unwrap();
    s.wait_shutdown().await;
    assert!(s.is_shutting_down());
}

#[tokio::test]
async fn drain_reports_completion_or_timeout() {
    assert!(service::drain(async {}, Duration::from_secs(60)).await);
    assert!(!service::drain(std::future::pending::<()>(), Duration::from_millis(1)).await);
}

#[tokio::test]
async fn log_file_reopened_on_hup() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("hup.log");
    let mut cfg = Config::defaults(schemas::proxy());
    cfg.set("log_file", log.to_str().unwrap()).unwrap();
    let guard = service::init_logging(&cfg, "proxy");
    let s = service::signals();
    let task = guard.reopen_on_hup(&s);
    std::fs::rename(&log, dir.path().join("hup.log.1")).unwrap();
    assert!(!log.exists());
    // A second subscriber sees the same HUP after the reopen task was woken.
    let mut hup = s.subscribe_hup();
    s.trigger_hup();
    hup.recv().await.unwrap();
    // Wait until the task has handled it: reopening creates the file again.
    while !log.exists() {
        tokio::task::yield_now().await;
    }
    task.abort();
}
