//! Rows as text, for tools that show data (the studio): parameters bound as
//! `text` and cast in SQL, results read in their text form, so every type
//! round-trips without the client knowing it.

use postgres::SimpleQueryMessage;
use postgres::types::{ToSql, Type};

use crate::{Connection, PgError};

/// A column of a result: its name and, when known, its type's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultColumn {
    /// The column's name (`?column?` for an unnamed expression).
    pub name: String,
    /// The type's name (`int4`, `text`, `user_role`), when described.
    pub type_name: Option<String>,
}

/// The rows of one statement, every value as text (`None` for NULL).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextRows {
    /// The result's columns (empty for a statement that returns no rows).
    pub columns: Vec<ResultColumn>,
    /// The rows.
    pub rows: Vec<Vec<Option<String>>>,
    /// Rows the statement returned or affected, from its command tag.
    pub affected: Option<u64>,
}

impl Connection {
    /// Runs one statement whose parameters `$1`, `$2`, … are all of type
    /// `text` (cast them in the SQL: `$1::text::integer`), in one round
    /// trip. Every result column must have a text type: cast it in the SQL
    /// (`col::text`).
    ///
    /// # Errors
    /// The server's error, whole; [`PgError::Catalog`] when a result
    /// column is not text.
    pub fn query_params(
        &mut self,
        sql: &str,
        params: &[Option<&str>],
    ) -> Result<TextRows, PgError> {
        let typed: Vec<(&(dyn ToSql + Sync), Type)> = params
            .iter()
            .map(|p| (p as &(dyn ToSql + Sync), Type::TEXT))
            .collect();
        let rows = self
            .client
            .query_typed(sql, &typed)
            .map_err(|e| PgError::from_query(&e, &self.info))?;
        let mut out = TextRows::default();
        if let Some(first) = rows.first() {
            out.columns = first
                .columns()
                .iter()
                .map(|c| ResultColumn {
                    name: c.name().to_owned(),
                    type_name: Some(c.type_().name().to_owned()),
                })
                .collect();
        }
        for row in &rows {
            let mut values = Vec::with_capacity(row.len());
            for i in 0..row.len() {
                let value: Option<String> = row.try_get(i).map_err(|_| {
                    PgError::Catalog(format!(
                        "result column {} is of type `{}`, not text: cast it in the query",
                        i + 1,
                        row.columns()[i].type_()
                    ))
                })?;
                values.push(value);
            }
            out.rows.push(values);
        }
        out.affected = Some(rows.len() as u64);
        Ok(out)
    }

    /// Parses and describes one statement without running it: the columns
    /// it returns. The server's parser refuses text holding several
    /// statements, so this also proves that `sql` is exactly one.
    ///
    /// # Errors
    /// The server's error (a syntax error, a missing table, several
    /// statements).
    pub fn describe(&mut self, sql: &str) -> Result<Vec<ResultColumn>, PgError> {
        let statement = self
            .client
            .prepare(sql)
            .map_err(|e| PgError::from_query(&e, &self.info))?;
        Ok(statement
            .columns()
            .iter()
            .map(|c| ResultColumn {
                name: c.name().to_owned(),
                type_name: Some(c.type_().name().to_owned()),
            })
            .collect())
    }

    /// Runs statements with the simple query protocol (one round trip) and
    /// returns the result of each statement, values as the server prints
    /// them.
    ///
    /// # Errors
    /// The server's error, whole.
    pub fn simple_results(&mut self, sql: &str) -> Result<Vec<TextRows>, PgError> {
        let messages = self
            .client
            .simple_query(sql)
            .map_err(|e| PgError::from_query(&e, &self.info))?;
        let mut results = Vec::new();
        let mut current = TextRows::default();
        for message in messages {
            match message {
                SimpleQueryMessage::RowDescription(columns) => {
                    current.columns = columns
                        .iter()
                        .map(|c| ResultColumn {
                            name: c.name().to_owned(),
                            type_name: None,
                        })
                        .collect();
                }
                SimpleQueryMessage::Row(row) => current.rows.push(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect(),
                ),
                SimpleQueryMessage::CommandComplete(count) => {
                    current.affected = Some(count);
                    results.push(std::mem::take(&mut current));
                }
                _ => {}
            }
        }
        Ok(results)
    }
}
