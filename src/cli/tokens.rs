//! `token create|list|revoke`: API tokens, of which only hashes are stored.

use std::io::Write;

use anyhow::bail;
use clap::Subcommand;

use crate::store::{
    self, Agent, AgentId, AgentKind, AgentName, Role, Store, Timestamp, TokenId, TokenInfo,
};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for an agent and print it, alone, on stdout. Only its SHA-256 is
    /// stored: it cannot be shown again.
    Create {
        /// The agent's name; an agent is created if none has it. When several agents share
        /// the name, choose one with --agent-id.
        #[arg(long, required_unless_present = "agent_id", conflicts_with = "agent_id")]
        agent: Option<String>,
        /// The agent's id (its UUID).
        #[arg(long)]
        agent_id: Option<String>,
        /// reader, editor, archivist or admin.
        #[arg(long, default_value = "editor")]
        role: String,
        /// The agent's kind if it has to be created: person, organization or software.
        #[arg(long, default_value = "person")]
        kind: String,
        /// Allow a token for a software agent (such as the seed loader), which is refused
        /// otherwise so that nobody writes in a program's name by mistake.
        #[arg(long)]
        software_agent: bool,
        /// The token stops working after this long (e.g. 30d, 12h).
        #[arg(long, conflicts_with = "expires_at", value_parser = humantime::parse_duration)]
        expires_in: Option<std::time::Duration>,
        /// The token stops working at this time (RFC 3339).
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// List tokens (never their secrets): id, agent, role, created, expires, status.
    List {
        /// Also list revoked and expired tokens.
        #[arg(long)]
        all: bool,
    },
    /// Revoke a token by its id: it authenticates nobody from now on.
    Revoke {
        /// The token's id, as `token list` shows it.
        id: String,
    },
}

pub(super) async fn run(store: &Store, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            agent,
            agent_id,
            role,
            kind,
            software_agent,
            expires_in,
            expires_at,
        } => {
            let role: Role = role.parse()?;
            let kind: AgentKind = kind.parse()?;
            let expires_at = match (expires_in, expires_at) {
                (Some(after), _) => Some(Timestamp::from_datetime(
                    chrono::Utc::now() + chrono::Duration::from_std(after)?,
                )),
                (None, Some(at)) => Some(Timestamp::parse("--expires-at", &at)?),
                (None, None) => None,
            };
            let agent = match (agent, agent_id) {
                (_, Some(id)) => store
                    .agent(AgentId::parse(&id)?)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no agent has the id {id}"))?,
                (Some(name), None) => agent_named(store, &name, kind, software_agent).await?,
                (None, None) => bail!("give --agent NAME or --agent-id ID"),
            };
            if agent.kind == AgentKind::Software && !software_agent {
                bail!(
                    "{} ({}) is a software agent; a token that writes in a program's name needs \
                     --software-agent",
                    agent.name,
                    agent.id
                );
            }
            let created = store.create_token(agent, role, expires_at).await?;
            let token = &created.token;
            let expiry =
                token.expires_at.map_or("does not expire".to_owned(), |t| format!("expires {t}"));
            eprintln!(
                "created {} token {} for {} ({}); it {expiry} and is shown only this once",
                token.role, token.id, token.agent.name, token.agent.id
            );
            writeln!(std::io::stdout().lock(), "{}", created.secret)?;
            Ok(())
        }
        TokenCommand::List { all } => {
            let now = Timestamp::now();
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<36}  {:<9}  {:<27}  {:<27}  {:<8}  AGENT",
                "ID", "ROLE", "CREATED", "EXPIRES", "STATUS"
            )?;
            let tokens = store.list_tokens(all).await?;
            if tokens.len() as u64 == store::MAX_LISTED_TOKENS {
                eprintln!("note: only the oldest {} tokens are listed", store::MAX_LISTED_TOKENS);
            }
            for token in tokens {
                writeln!(
                    out,
                    "{:<36}  {:<9}  {:<27}  {:<27}  {:<8}  {} ({}, {})",
                    token.id.to_string(),
                    token.role.to_string(),
                    token.created_at.to_string(),
                    token.expires_at.map_or("-".to_owned(), |t| t.to_string()),
                    status(&token, now),
                    token.agent.name,
                    token.agent.kind,
                    token.agent.id
                )?;
            }
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            let token = store.revoke_token(TokenId::parse(&id)?).await?;
            eprintln!("token {} of {} ({}) is revoked", token.id, token.agent.name, token.agent.id);
            Ok(())
        }
    }
}

fn status(token: &TokenInfo, now: Timestamp) -> &'static str {
    match (token.revoked_at, token.expires_at) {
        (Some(_), _) => "revoked",
        (None, Some(expiry)) if expiry <= now => "expired",
        _ => "active",
    }
}

/// The agent a command names by `--agent NAME` (the one agent with that name) or
/// `--agent-id ID`; never created.
pub(super) async fn agent_by(
    store: &Store,
    name: Option<String>,
    id: Option<String>,
) -> anyhow::Result<Agent> {
    match (name, id) {
        (_, Some(id)) => store
            .agent(AgentId::parse(&id)?)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no agent has the id {id}")),
        (Some(name), None) => {
            let parsed = AgentName::parse(&name)?;
            match store.agents_named(&parsed, None).await?.as_slice() {
                [] => bail!("no agent is named {name:?}"),
                [one] => Ok(one.clone()),
                many => {
                    bail!("{} agents are named {name:?}; choose one with --agent-id", many.len())
                }
            }
        }
        (None, None) => bail!("give --agent NAME or --agent-id ID"),
    }
}

/// The one agent with this display name, created (of `kind`) if none has it. Names are not
/// unique: several agents sharing one must be told apart by id.
async fn agent_named(
    store: &Store,
    name: &str,
    kind: AgentKind,
    software_agent: bool,
) -> anyhow::Result<Agent> {
    let name = AgentName::parse(name)?;
    match store.agents_named(&name, None).await?.as_slice() {
        [] => {
            if kind == AgentKind::Software && !software_agent {
                bail!("creating a software agent for a token needs --software-agent");
            }
            Ok(store.create_agent(&name, kind, None).await?)
        }
        [one] => Ok(one.clone()),
        many => {
            let ids: Vec<String> = many.iter().map(|a| format!("{} ({})", a.id, a.kind)).collect();
            bail!(
                "{} agents are named {:?}: {}; choose one with --agent-id",
                many.len(),
                name.as_str(),
                ids.join(", ")
            )
        }
    }
}
