//! `galleon operation show|wait`: picks up what `--no-wait` started (the seed's PowerShell
//! `-AsJob` / `$job.State` pattern).

use galleon_api_types::OperationStatus;
use galleon_client::Reply;

use super::Session;
use super::args::OperationCommand;

pub(super) async fn run(s: &Session, command: OperationCommand) -> anyhow::Result<()> {
    let status: OperationStatus = match command {
        OperationCommand::Show { id } => s.client.get(&id).await?,
        OperationCommand::Wait { id } => s.client.wait(&Reply::operation(id)).await?,
    };
    s.print(&serde_json::to_value(status)?)
}
