//! Everything strata prints goes through here: colors when writing to a
//! terminal, a progress bar for long work, and broken pipes that end
//! quietly.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use strata::Event;
use strata_sql::{Hazard, Severity, Statement};

use crate::args::{ColorChoice, GlobalArgs};

#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts about the terminal and the flags"
)]
pub(crate) struct Output {
    pub(crate) color_out: bool,
    pub(crate) color_err: bool,
    /// Both ends are a terminal and prompts are allowed.
    pub(crate) interactive: bool,
    pub(crate) verbose: bool,
    pub(crate) json: bool,
    stderr_terminal: bool,
    progress_shown: bool,
    last_progress: Option<Instant>,
    started: Instant,
}

#[derive(Clone, Copy)]
pub(crate) enum Paint {
    Bold,
    Dim,
    Red,
    Yellow,
    Green,
    Cyan,
}

impl Paint {
    fn code(self) -> &'static str {
        match self {
            Paint::Bold => "1",
            Paint::Dim => "2",
            Paint::Red => "1;31",
            Paint::Yellow => "33",
            Paint::Green => "32",
            Paint::Cyan => "36",
        }
    }
}

impl Output {
    pub(crate) fn new(global: &GlobalArgs) -> Output {
        #[allow(clippy::disallowed_methods)] // NO_COLOR is an environment convention
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let stdout_terminal = io::stdout().is_terminal();
        let stderr_terminal = io::stderr().is_terminal();
        let color = |terminal: bool| match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color,
        };
        Output {
            color_out: color(stdout_terminal) && !global.json,
            color_err: color(stderr_terminal),
            interactive: !global.yes
                && !global.json
                && io::stdin().is_terminal()
                && stdout_terminal,
            verbose: global.verbose,
            json: global.json,
            stderr_terminal,
            progress_shown: false,
            last_progress: None,
            started: Instant::now(),
        }
    }

    pub(crate) fn paint(&self, text: &str, paint: Paint) -> String {
        if self.color_out {
            format!("\x1b[{}m{text}\x1b[0m", paint.code())
        } else {
            text.to_owned()
        }
    }

    pub(crate) fn paint_err(&self, text: &str, paint: Paint) -> String {
        if self.color_err {
            format!("\x1b[{}m{text}\x1b[0m", paint.code())
        } else {
            text.to_owned()
        }
    }

    /// Writes to stdout; a closed pipe is not an error.
    pub(crate) fn out(&mut self, text: &str) {
        self.clear_progress();
        let mut stdout = io::stdout().lock();
        if let Err(e) = writeln!(stdout, "{text}").and_then(|()| stdout.flush())
            && e.kind() == io::ErrorKind::BrokenPipe
        {
            // The reader went away (`strata push --dry-run | head`): stop quietly.
            std::process::exit(0);
        }
    }

    /// Writes a status line to stderr.
    pub(crate) fn status(&mut self, text: &str) {
        self.clear_progress();
        eprintln!("{text}");
    }

    pub(crate) fn warning(&mut self, text: &str) {
        let label = self.paint_err("warning:", Paint::Yellow);
        self.status(&format!("{label} {text}"));
    }

    pub(crate) fn error(&mut self, message: &str, details: &[(&str, String)]) {
        let label = self.paint_err("error:", Paint::Red);
        self.status(&format!("{label} {message}"));
        for (name, text) in details {
            let name = self.paint_err(&format!("{name}:"), Paint::Bold);
            self.status(&format!("  {name} {text}"));
        }
    }

    fn progress(&mut self, done: usize, total: usize) {
        if !self.stderr_terminal || self.json || total < 20 {
            return;
        }
        let now = Instant::now();
        if done < total
            && self
                .last_progress
                .is_some_and(|t| now - t < Duration::from_millis(50))
        {
            return;
        }
        self.last_progress = Some(now);
        let width = 30;
        let filled = done * width / total.max(1);
        let bar = format!("{}{}", "=".repeat(filled), " ".repeat(width - filled));
        eprint!("\r[{bar}] {done}/{total} statements");
        let _ = io::stderr().flush();
        self.progress_shown = true;
    }

    /// A bar per table while rows load (seeding); gone once the table is done.
    fn rows(&mut self, label: &str, done: u64, total: u64) {
        if !self.stderr_terminal || self.json || total < 1000 {
            return;
        }
        if done >= total {
            self.clear_progress();
            return;
        }
        let width = 30;
        let filled = usize::try_from(done.saturating_mul(30) / total.max(1)).unwrap_or(width);
        let bar = format!(
            "{}{}",
            "=".repeat(filled),
            " ".repeat(width - filled.min(width))
        );
        eprint!("\r\x1b[2K[{bar}] {label} {done}/{total} rows");
        let _ = io::stderr().flush();
        self.progress_shown = true;
    }

    /// Replaces the progress line on a terminal; false (nothing shown)
    /// when stderr is not one or the output is JSON.
    pub(crate) fn bar_line(&mut self, line: &str) -> bool {
        if !self.stderr_terminal || self.json {
            return false;
        }
        eprint!("\r\x1b[2K{line}");
        let _ = io::stderr().flush();
        self.progress_shown = true;
        true
    }

    fn clear_progress(&mut self) {
        if self.progress_shown {
            eprint!("\r\x1b[2K");
            let _ = io::stderr().flush();
            self.progress_shown = false;
        }
    }

    pub(crate) fn hazard_line(&self, hazard: &Hazard) -> (String, String) {
        let (label, paint) = match hazard.severity {
            Severity::Error => ("error", Paint::Red),
            Severity::Warning => ("warning", Paint::Yellow),
            Severity::Info => ("info", Paint::Cyan),
        };
        (
            format!(
                "{} {}",
                self.paint(&format!("{label}[{}]", hazard.id.as_str()), paint),
                hazard.message
            ),
            format!("{} {}", self.paint("help:", Paint::Dim), hazard.help),
        )
    }

    /// A numbered, indented statement with its hazards under it.
    pub(crate) fn statement(&mut self, number: usize, statement: &Statement) {
        let mut text = String::new();
        let prefix = format!("{number:>4}  ");
        for (i, line) in statement.sql.lines().enumerate() {
            if i == 0 {
                text.push_str(&self.paint(&prefix, Paint::Dim));
            } else {
                text.push_str("\n      ");
            }
            text.push_str(line);
        }
        text.push(';');
        for hazard in &statement.hazards {
            let (line, help) = self.hazard_line(hazard);
            let _ = write!(text, "\n        {line}\n          {help}");
        }
        self.out(&text);
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

impl strata::Observer for Output {
    fn event(&mut self, event: Event) {
        match event {
            Event::Stage(text) if self.verbose => {
                let line = self.paint_err(
                    &format!("[{:>6.2}s] {text}", self.elapsed().as_secs_f64()),
                    Paint::Dim,
                );
                self.status(&line);
            }
            Event::Progress { done, total } => self.progress(done, total),
            Event::Warning(text) => self.warning(&text),
            Event::Rows { label, done, total } => self.rows(&label, done, total),
            Event::Migrated { tag, elapsed } => {
                let line = format!("applied {tag} ({} ms)", elapsed.as_millis());
                let line = self.paint_err(&line, Paint::Dim);
                self.status(&line);
            }
            Event::RolledBack { tag, elapsed } => {
                let line = format!("rolled back {tag} ({} ms)", elapsed.as_millis());
                let line = self.paint_err(&line, Paint::Dim);
                self.status(&line);
            }
            _ => {}
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.clear_progress();
    }
}
