//! `collection create|list|show|visibility|add-member|remove-member|move|embargo`: who may
//! read what, managed by the operator (each change is audited, with no agent: the operator).

use std::io::Write;

use anyhow::{Context as _, bail};
use clap::Subcommand;

use super::tokens::agent_by;
use crate::store::{
    self, Collection, CollectionName, Document, Slug, Store, Timestamp, Viewer, Visibility,
};

#[derive(Debug, Subcommand)]
pub enum CollectionCommand {
    /// Create a collection: public (anyone may read its documents once their embargo has
    /// passed) or, with --restricted, read by its members only.
    Create {
        /// Its slug: lowercase letters and digits in words joined by single hyphens.
        slug: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// Only its members may read its documents.
        #[arg(long)]
        restricted: bool,
    },
    /// List every collection: slug, visibility, created, name.
    List,
    /// Show a collection and its members.
    Show { slug: String },
    /// Make a collection public or restricted; its documents follow at once.
    Visibility {
        slug: String,
        /// public or restricted.
        visibility: String,
    },
    /// Add an agent to a collection with a role, or change its role there.
    AddMember {
        slug: String,
        /// The agent's name (when several agents share it, use --agent-id).
        #[arg(long, required_unless_present = "agent_id", conflicts_with = "agent_id")]
        agent: Option<String>,
        /// The agent's id (its UUID).
        #[arg(long)]
        agent_id: Option<String>,
        /// reader, editor, archivist or admin: what it may do with the collection's documents
        /// that are not public.
        #[arg(long, default_value = "reader")]
        role: String,
    },
    /// Take an agent out of a collection.
    RemoveMember {
        slug: String,
        #[arg(long, required_unless_present = "agent_id", conflicts_with = "agent_id")]
        agent: Option<String>,
        #[arg(long)]
        agent_id: Option<String>,
    },
    /// Move a document (by its slug) into a collection (by its slug).
    Move { document: String, collection: String },
    /// Set a document's embargo (until then only its collection's members may read it), or
    /// lift it.
    Embargo {
        /// The document's slug.
        document: String,
        /// When it becomes public (RFC 3339).
        #[arg(long, required_unless_present = "lift", conflicts_with = "lift")]
        until: Option<String>,
        /// Lift the embargo.
        #[arg(long)]
        lift: bool,
    },
}

pub(super) async fn run(store: &Store, command: CollectionCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        CollectionCommand::Create { slug, name, restricted } => {
            let visibility = if restricted { Visibility::Restricted } else { Visibility::Public };
            let created = store
                .create_collection(
                    Slug::parse(&slug)?,
                    CollectionName::parse(&name)?,
                    visibility,
                    None,
                )
                .await?;
            eprintln!(
                "created {} collection {} ({})",
                created.visibility, created.slug, created.id
            );
        }
        CollectionCommand::List => {
            writeln!(out, "{:<32}  {:<10}  {:<27}  NAME", "SLUG", "VISIBILITY", "CREATED")?;
            let collections = store.list_collections(None).await?;
            if collections.len() as u64 == store::MAX_COLLECTIONS {
                eprintln!("note: only the first {} collections are listed", store::MAX_COLLECTIONS);
            }
            for c in collections {
                let (slug, visibility) = (c.slug.to_string(), c.visibility.to_string());
                writeln!(out, "{slug:<32}  {visibility:<10}  {:<27}  {}", c.created_at, c.name)?;
            }
        }
        CollectionCommand::Show { slug } => {
            let collection = named(store, &slug).await?;
            writeln!(out, "{} ({}): {}", collection.slug, collection.visibility, collection.name)?;
            writeln!(out, "id {}, created {}", collection.id, collection.created_at)?;
            writeln!(out, "{:<9}  {:<27}  AGENT", "ROLE", "ADDED")?;
            for member in store.members_of(collection.id).await? {
                let agent = store.agent(member.agent).await?;
                let name = agent.map_or_else(|| "?".to_owned(), |a| a.name);
                let role = member.role.to_string();
                writeln!(out, "{role:<9}  {:<27}  {name} ({})", member.added_at, member.agent)?;
            }
        }
        CollectionCommand::Visibility { slug, visibility } => {
            let collection = named(store, &slug).await?;
            let visibility: Visibility = visibility.parse()?;
            store.set_collection_visibility(collection.id, visibility, None).await?;
            eprintln!("{} is {visibility}", collection.slug);
        }
        CollectionCommand::AddMember { slug, agent, agent_id, role } => {
            let collection = named(store, &slug).await?;
            let agent = agent_by(store, agent, agent_id).await?;
            let member = store.set_member(collection.id, agent.id, role.parse()?, None).await?;
            eprintln!("{} ({}) is in {} as {}", agent.name, agent.id, collection.slug, member.role);
        }
        CollectionCommand::RemoveMember { slug, agent, agent_id } => {
            let collection = named(store, &slug).await?;
            let agent = agent_by(store, agent, agent_id).await?;
            store.remove_member(collection.id, agent.id, None).await?;
            eprintln!("{} ({}) is no member of {}", agent.name, agent.id, collection.slug);
        }
        CollectionCommand::Move { document, collection } => {
            let document = document_named(store, &document).await?;
            let collection = named(store, &collection).await?;
            store.move_document(document.id, collection.id, None).await?;
            eprintln!("{} moved into {}", document.slug, collection.slug);
        }
        CollectionCommand::Embargo { document, until, lift } => {
            let document = document_named(store, &document).await?;
            let publish_at = match (until, lift) {
                (Some(at), false) => Some(Timestamp::parse("--until", &at)?),
                (None, true) => None,
                _ => bail!("give --until TIME or --lift"),
            };
            store.set_embargo(document.id, publish_at, None).await?;
            match publish_at {
                Some(at) => eprintln!("{} is embargoed until {at}", document.slug),
                None => eprintln!("{} has no embargo", document.slug),
            }
        }
    }
    Ok(())
}

async fn named(store: &Store, slug: &str) -> anyhow::Result<Collection> {
    store
        .collection_by_slug(&Slug::parse(slug)?)
        .await?
        .with_context(|| format!("no collection has the slug {slug}"))
}

async fn document_named(store: &Store, slug: &str) -> anyhow::Result<Document> {
    Ok(store.document_with_slug(&Viewer::everything(), &Slug::parse(slug)?).await?)
}
