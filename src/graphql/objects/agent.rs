//! The `Agent` object type.

use async_graphql::{ID, Object};

use crate::graphql::ids::GlobalId;
use crate::graphql::kinds::AgentKind;
use crate::graphql::nodes::AgentNode;

#[Object(name = "Agent")]
impl AgentNode {
    /// An opaque global id.
    pub async fn id(&self) -> ID {
        GlobalId::Agent(self.0.id).encode()
    }

    /// The agent's UUID, as revision headers carry it in `author`.
    async fn uuid(&self) -> String {
        self.0.id.to_string()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// A person, an organization or a program.
    async fn agent_kind(&self) -> AgentKind {
        self.0.kind.into()
    }

    #[graphql(deprecation = "Use `agentKind`: `Document.kind` and `Source.kind` are other enums, \
                             so a query cannot select them together (as `node { ... on Document \
                             { kind } ... on Agent { kind } }` does).")]
    async fn kind(&self) -> AgentKind {
        self.0.kind.into()
    }
}
