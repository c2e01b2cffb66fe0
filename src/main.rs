use signal_hook::consts::{SIGINT, SIGTERM};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use todo_api::config::Config;
use todo_api::log;

const TICK: Duration = Duration::from_millis(50);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-h" | "--help" | "help") => {
            print!("{}", Config::help());
            return ExitCode::SUCCESS;
        }
        Some("-V" | "--version") => {
            println!("todo-api {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        None | Some("migrate") => {}
        Some(other) => {
            eprintln!("todo-api: unknown argument {other:?}; see `todo-api --help`");
            return ExitCode::from(2);
        }
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("todo-api: {e}");
            return ExitCode::from(2);
        }
    };
    log::init(config.log_format, config.log_level);
    if args.first().map(String::as_str) == Some("migrate") {
        return match todo_api::database(&config)
            .and_then(|(target, _cluster)| todo_api::migrate(&target))
        {
            Ok(applied) => {
                println!(
                    "applied {} migration(s): {}",
                    applied.len(),
                    applied.join(", ")
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("todo-api: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // Registered before start-up, so a deploy's SIGTERM during start-up is not lost.
    let mut signals = match signal_hook::iterator::Signals::new([SIGTERM, SIGINT]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("todo-api: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let drain = config.drain;
    let server = match todo_api::start(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("todo-api: {e}");
            return ExitCode::FAILURE;
        }
    };
    log::info(
        "listening",
        &[("url", &format!("http://{}", server.local_addr()))],
    );
    let signal = signals.forever().next().unwrap_or(SIGTERM);
    if !drain.is_zero() {
        log::info(
            "draining",
            &[("signal", &signal), ("ms", &drain.as_millis())],
        );
        server.drain();
        // A second signal cuts the drain short (Ctrl-C twice).
        let until = Instant::now() + drain;
        while Instant::now() < until && signals.pending().next().is_none() {
            std::thread::sleep(until.saturating_duration_since(Instant::now()).min(TICK));
        }
    }
    log::info("shutting down", &[("signal", &signal)]);
    server.shutdown();
    log::info("stopped", &[]);
    ExitCode::SUCCESS
}
