//! Questions on a terminal.

use std::io::{self, BufRead, Write};

use strata_diff::{DiffError, RenameResolver};
use strata_model::{Ident, QualifiedName};

/// Asks which of several answers applies; returns the index chosen.
fn choose(question: &str, options: &[String]) -> Result<usize, DiffError> {
    let mut stderr = io::stderr();
    let stdin = io::stdin();
    loop {
        let _ = writeln!(stderr, "{question}");
        for (i, option) in options.iter().enumerate() {
            let _ = writeln!(stderr, "  {}) {option}", i + 1);
        }
        let _ = write!(stderr, "Choose 1-{} [1]: ", options.len());
        let _ = stderr.flush();
        let mut line = String::new();
        let read = stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| DiffError::Prompt {
                reason: e.to_string(),
            })?;
        if read == 0 {
            return Err(DiffError::Prompt {
                reason: "the input ended before an answer; pass --rename or --yes to run without questions".to_owned(),
            });
        }
        let answer = line.trim();
        if answer.is_empty() {
            return Ok(0);
        }
        match answer.parse::<usize>() {
            Ok(n) if (1..=options.len()).contains(&n) => return Ok(n - 1),
            _ => {
                let _ = writeln!(
                    stderr,
                    "Please answer with a number from 1 to {}.",
                    options.len()
                );
            }
        }
    }
}

/// Asks yes or no; the default is no.
pub(crate) fn confirm(question: &str) -> io::Result<bool> {
    let mut stderr = io::stderr();
    write!(stderr, "{question} [y/N] ")?;
    stderr.flush()?;
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Asks about each possible rename.
pub(crate) struct TerminalRenames;

impl RenameResolver for TerminalRenames {
    fn table(
        &mut self,
        added: &QualifiedName,
        candidates: &[QualifiedName],
    ) -> Result<Option<QualifiedName>, DiffError> {
        let mut options = vec![format!("+ {added}: create it (as a new, empty table)")];
        options.extend(
            candidates
                .iter()
                .map(|old| format!("~ {old} › {added}: rename it (keeps the rows)")),
        );
        let question = format!("Is table {added} new, or renamed from another table?");
        let index = choose(&question, &options)?;
        Ok(index.checked_sub(1).map(|i| candidates[i].clone()))
    }

    fn column(
        &mut self,
        table: &QualifiedName,
        added: &Ident,
        candidates: &[Ident],
    ) -> Result<Option<Ident>, DiffError> {
        let mut options = vec![format!("+ {added}: create it (as a new, empty column)")];
        options.extend(
            candidates
                .iter()
                .map(|old| format!("~ {old} › {added}: rename it (keeps the values)")),
        );
        let question =
            format!("Is column {added} in table {table} new, or renamed from another column?");
        let index = choose(&question, &options)?;
        Ok(index.checked_sub(1).map(|i| candidates[i].clone()))
    }
}
