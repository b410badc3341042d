//! A command as a type: its declaration, its typed arguments read from the checked
//! input, the context it runs in (which fixes who may run it), and what it does.

use super::access::Scope;
use super::actor::Actor;
use super::args::Args;
use super::grants::Grant;
use super::spec::{self, CommandSpec};
use super::{Core, Invocation};
use crate::error::{CommandError, UserError};
use crate::reply::Reply;
use std::future::Future;

/// One command. Its declaration's audience is its context's ([`Grant::ACCESS`]), so
/// the check that runs before it and the context it receives cannot disagree.
pub trait Command: Sized + Send {
    /// Where it runs: who asks, and on what organization, event or membership.
    type Grant: Grant;
    /// Name, arguments, audience, help, example and front-end traits.
    const SPEC: CommandSpec;
    /// The typed arguments, from the checked input.
    fn parse(args: Args<'_>) -> Result<Self, UserError>;
    /// Does it.
    fn run(self, core: &Core, ctx: Self::Grant) -> impl Future<Output = Result<Reply, CommandError>> + Send;
}

impl Core {
    /// Reads the arguments of `C`, turns the decided scope into its context, and runs it.
    pub(super) async fn run_typed<C: Command>(
        &self,
        actor: Actor,
        scope: Scope,
        inv: &Invocation,
    ) -> Result<Reply, CommandError> {
        let command = C::parse(Args::new(spec::spec(inv.cmd), inv))?;
        let ctx = C::Grant::grant(actor, scope)?;
        command.run(self, ctx).await
    }
}

/// A command's own example read into its type (for tests of what the fields hold).
#[cfg(test)]
pub(crate) fn example<C: Command>() -> C {
    let inv = super::parse_line(C::SPEC.example).expect("the example parses");
    assert_eq!(inv.cmd, C::SPEC.cmd, "{}", C::SPEC.example);
    C::parse(Args::new(spec::spec(inv.cmd), &inv)).expect("the example reads into its type")
}

/// Declares a command inside its `impl Command`; the audience is its context's
/// (`Self::Grant`): `declare!(CmdId, "name", [args], "help", "example", private = true, …)`.
macro_rules! declare {
    ($cmd:ident, $name:literal, [$($arg:expr),* $(,)?], $help:literal, $example:literal $(, $k:ident = $v:expr)* $(,)?) => {{
        #[allow(unused_mut)]
        let mut c = $crate::commands::spec::CommandSpec {
            cmd: $crate::commands::spec::Cmd::$cmd,
            name: $name,
            args: &[$($arg),*],
            access: <Self::Grant as $crate::commands::grants::Grant>::ACCESS,
            channels: $crate::commands::spec::Channels::All,
            private: false,
            deferred: false,
            new_mail_thread: false,
            picks_only_event: false,
            help: $help,
            example: $example,
        };
        $(c.$k = $v;)*
        c
    }};
}
pub(crate) use declare;
