//! `galleon operation show|wait`: picks up what `--no-wait` started (the seed's PowerShell
//! `-AsJob` / `$job.State` pattern).

use galleon_client::Reply;
use hyper::Method;

use super::Session;
use super::args::OperationCommand;

pub(super) async fn run(s: &Session, command: OperationCommand) -> anyhow::Result<()> {
    let value = match command {
        OperationCommand::Show { id } => s.client.call(Method::GET, &id, None).await?.body,
        OperationCommand::Wait { id } => {
            let started = Reply {
                status: 202,
                async_operation: Some(id),
                location: None,
                retry_after: None,
                body: Default::default(),
            };
            s.client.wait(&started, |_| {}).await?
        }
    };
    s.print(&value)
}
