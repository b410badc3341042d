//! Statements built piece by piece (lists of ids, multi-row inserts) for either database.

use super::{Arg, Bind, Parts, Query, QueryAs, Text};
use std::marker::PhantomData;

/// A statement built piece by piece (lists of ids, multi-row inserts), with the
/// arguments bound where they appear; the same API as sqlx's `QueryBuilder`.
#[derive(Debug, Default)]
pub(crate) struct QueryBuilder {
    sql: String,
    args: Vec<Arg>,
}

impl QueryBuilder {
    pub(crate) fn new(start: impl Into<String>) -> Self {
        QueryBuilder {
            sql: start.into(),
            args: Vec::new(),
        }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, text: impl std::fmt::Display) -> &mut Self {
        use std::fmt::Write;
        let _ = write!(self.sql, "{text}");
        self
    }

    /// Appends a placeholder and binds its argument.
    pub(crate) fn push_bind(&mut self, v: impl Bind) -> &mut Self {
        self.sql.push('?');
        self.args.push(v.arg());
        self
    }

    /// Appends items separated by `sep`.
    pub(crate) fn separated(&mut self, sep: &'static str) -> Separated<'_> {
        Separated {
            qb: self,
            sep,
            first: true,
        }
    }

    /// Appends `VALUES (…), (…)`, one tuple per row, filled by `f`.
    pub(crate) fn push_values<I: IntoIterator>(
        &mut self,
        rows: I,
        mut f: impl FnMut(Separated<'_>, I::Item),
    ) -> &mut Self {
        self.sql.push_str("VALUES ");
        for (n, row) in rows.into_iter().enumerate() {
            if n > 0 {
                self.sql.push_str(", ");
            }
            self.sql.push('(');
            f(self.separated(", "), row);
            self.sql.push(')');
        }
        self
    }

    fn parts(&mut self) -> Parts {
        let me = std::mem::take(self);
        Parts {
            text: Text::Owned(me.sql),
            pg: None,
            args: me.args,
        }
    }

    pub(crate) fn build(&mut self) -> Query {
        Query(self.parts())
    }

    pub(crate) fn build_query_as<T>(&mut self) -> QueryAs<T> {
        QueryAs(self.parts(), PhantomData)
    }
}

/// Items of a [`QueryBuilder`] with a separator between them.
pub(crate) struct Separated<'b> {
    qb: &'b mut QueryBuilder,
    sep: &'static str,
    first: bool,
}

impl Separated<'_> {
    fn next(&mut self) {
        if !self.first {
            self.qb.sql.push_str(self.sep);
        }
        self.first = false;
    }

    /// Appends a placeholder (after a separator) and binds its argument.
    pub(crate) fn push_bind(&mut self, v: impl Bind) -> &mut Self {
        self.next();
        self.qb.push_bind(v);
        self
    }
}
