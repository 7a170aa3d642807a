//! The targets, events and tags that hooks can use.

use std::fmt;

/// The kind of object a hook watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
pub enum Target {
    /// Calling lists, the contact lists that dialers work through.
    #[cfg_attr(feature = "serde", serde(rename = "callinglist"))]
    CallingList,
    /// Campaigns.
    Campaigns,
}

impl Target {
    /// Every target, in the order the catalogue lists them.
    pub const ALL: [Target; 2] = [Target::CallingList, Target::Campaigns];

    /// Returns the name used in hooks and in the API.
    pub fn name(self) -> &'static str {
        match self {
            Target::CallingList => "callinglist",
            Target::Campaigns => "campaigns",
        }
    }

    /// Returns the target called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|target| target.name() == name)
    }

    /// Returns the events that this target has.
    pub fn events(self) -> &'static [Event] {
        match self {
            Target::CallingList => &[Event::Import, Event::Add, Event::Delete],
            Target::Campaigns => &[Event::Create, Event::Delete],
        }
    }

    /// Returns a sentence for people choosing a target.
    pub fn description(self) -> &'static str {
        match self {
            Target::CallingList => "Contact lists: imported, added to another list or deleted",
            Target::Campaigns => "Campaigns: created or deleted",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The change to a target's object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
pub enum Event {
    /// A calling list was created from an uploaded file.
    Import,
    /// Contacts were added to an existing calling list.
    Add,
    /// The object was deleted.
    Delete,
    /// The object was created.
    Create,
}

impl Event {
    /// Every event.
    pub const ALL: [Event; 4] = [Event::Import, Event::Add, Event::Delete, Event::Create];

    /// Returns the name used in hooks and in the API.
    pub fn name(self) -> &'static str {
        match self {
            Event::Import => "import",
            Event::Add => "add",
            Event::Delete => "delete",
            Event::Create => "create",
        }
    }

    /// Returns the event called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|event| event.name() == name)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The hooks a tag is available to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum TagScope {
    /// Every hook.
    Every,
    /// Hooks of one target, for the listed events.
    Target {
        /// The target.
        target: Target,
        /// The events of that target.
        events: Vec<Event>,
    },
}

/// A tag that a hook URL can contain, such as `{agent.id}`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Tag {
    /// The name between the braces.
    pub name: String,
    /// A sentence for people choosing a tag.
    pub description: String,
    /// The hooks that have it.
    pub scope: TagScope,
    /// Whether the value can be undefined, which a simple expansion renders as nothing.
    pub optional: bool,
}

impl Tag {
    /// Tells whether a hook of `target` and `event` has this tag.
    pub fn is_available(&self, target: Target, event: Event) -> bool {
        match &self.scope {
            TagScope::Every => true,
            TagScope::Target {
                target: own,
                events,
            } => *own == target && events.contains(&event),
        }
    }
}

/// The tags of every hook, and those of each target, as (name, description, optional).
const GENERAL_TAGS: [(&str, &str, bool); 8] = [
    (
        "client.id",
        "Id of the client on whose behalf the request was made",
        false,
    ),
    (
        "client.identification",
        "MD5 identification of the client",
        false,
    ),
    ("client.name", "Name of the client", false),
    ("agent.id", "Id of the agent who made the request", false),
    ("agent.name", "Full name of the agent", true),
    ("agent.username", "Username of the agent", false),
    (
        "agent.lang",
        "Language code of the agent, such as `en`",
        true,
    ),
    ("agent.email", "Email address of the agent", true),
];

/// The targets, events and tags of a deployment. Deployments differ only in their extra agent
/// columns, each of which becomes an `agent.<column>` tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalogue {
    agent_columns: Vec<String>,
    tags: Vec<Tag>,
}

impl Catalogue {
    /// Creates the catalogue of a deployment whose agents have the extra `agent_columns`.
    /// A column that repeats a built-in agent tag is ignored.
    pub fn new<I, S>(agent_columns: I) -> Catalogue
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut columns: Vec<String> = Vec::new();
        for column in agent_columns {
            let column = column.into();
            let tag = format!("agent.{column}");
            let built_in = GENERAL_TAGS.iter().any(|(name, _, _)| *name == tag);
            if !built_in && !columns.contains(&column) {
                columns.push(column);
            }
        }
        let tags = all_tags(&columns);
        Catalogue {
            agent_columns: columns,
            tags,
        }
    }

    /// Returns the deployment's extra agent columns.
    pub fn agent_columns(&self) -> &[String] {
        &self.agent_columns
    }

    /// Returns every tag.
    pub fn tags(&self) -> Vec<Tag> {
        self.tags.clone()
    }

    /// Returns the tag called `name`, if there is one.
    pub fn tag(&self, name: &str) -> Option<&Tag> {
        self.tags.iter().find(|tag| tag.name == name)
    }

    /// Returns the tags that a hook of `target` and `event` has.
    pub fn tags_for(&self, target: Target, event: Event) -> Vec<Tag> {
        self.tags
            .iter()
            .filter(|tag| tag.is_available(target, event))
            .cloned()
            .collect()
    }
}

/// Serializes as `{targets: [{name, description, events}], tags, agent_columns}`, the shape the
/// server's `GET /api/catalogue` and the npm package's `catalogue()` return.
#[cfg(feature = "serde")]
impl serde::Serialize for Catalogue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;

        #[derive(serde::Serialize)]
        struct TargetView {
            name: &'static str,
            description: &'static str,
            events: Vec<&'static str>,
        }

        let targets: Vec<TargetView> = Target::ALL
            .into_iter()
            .map(|target| TargetView {
                name: target.name(),
                description: target.description(),
                events: target.events().iter().map(|event| event.name()).collect(),
            })
            .collect();
        let mut state = serializer.serialize_struct("Catalogue", 3)?;
        state.serialize_field("targets", &targets)?;
        state.serialize_field("tags", &self.tags)?;
        state.serialize_field("agent_columns", &self.agent_columns)?;
        state.end()
    }
}

impl Default for Catalogue {
    fn default() -> Catalogue {
        Catalogue::new(Vec::<String>::new())
    }
}

/// Returns the general tags, one per extra agent column, and the tags of each target.
fn all_tags(agent_columns: &[String]) -> Vec<Tag> {
    {
        let general = GENERAL_TAGS
            .iter()
            .map(|(name, description, optional)| Tag {
                name: name.to_string(),
                description: description.to_string(),
                scope: TagScope::Every,
                optional: *optional,
            });
        let columns = agent_columns.iter().map(|column| Tag {
            name: format!("agent.{column}"),
            description: format!("The agent's `{column}` column in this deployment"),
            scope: TagScope::Every,
            optional: true,
        });
        let scoped = [
            (
                "calling_list.id",
                "Id of the calling list",
                Target::CallingList,
                &[Event::Import, Event::Add, Event::Delete][..],
                false,
            ),
            (
                "campaign.id",
                "Id of the campaign",
                Target::Campaigns,
                &[Event::Create, Event::Delete][..],
                false,
            ),
            (
                "campaign.copy_of",
                "Id of the campaign this one copies; undefined when it is no copy",
                Target::Campaigns,
                &[Event::Create][..],
                true,
            ),
        ]
        .into_iter()
        .map(|(name, description, target, events, optional)| Tag {
            name: name.to_string(),
            description: description.to_string(),
            scope: TagScope::Target {
                target,
                events: events.to_vec(),
            },
            optional,
        });
        general.chain(columns).chain(scoped).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_tags_follow_target_and_event() {
        let catalogue = Catalogue::default();
        let names = |target, event| -> Vec<String> {
            catalogue
                .tags_for(target, event)
                .into_iter()
                .map(|tag| tag.name)
                .collect()
        };
        assert!(names(Target::CallingList, Event::Import).contains(&"calling_list.id".into()));
        assert!(!names(Target::CallingList, Event::Import).contains(&"campaign.id".into()));
        assert!(names(Target::Campaigns, Event::Create).contains(&"campaign.copy_of".into()));
        assert!(!names(Target::Campaigns, Event::Delete).contains(&"campaign.copy_of".into()));
        assert!(names(Target::Campaigns, Event::Delete).contains(&"campaign.id".into()));
    }

    #[test]
    fn agent_columns_become_tags() {
        let catalogue = Catalogue::new(["team", "name", "team"]);
        assert_eq!(catalogue.agent_columns(), ["team"]);
        assert!(catalogue.tag("agent.team").is_some());
    }
}
