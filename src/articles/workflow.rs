//! The editorial workflow of a translation, and who may do what to a story.
//!
//! ```text
//! draft ──▶ in_review ──▶ scheduled ──▶ published ──▶ archived
//!   ▲  └──────────┴──────────┴───────▶ published        │
//!   └──────── back to draft (withdraw, unschedule, unpublish, restore) ┘
//! ```

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::articles::Story;
use crate::auth::{AuthUser, Role};
use crate::error::{AppError, AppResult};

/// Where a translation stands in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    InReview,
    /// Will be published at `scheduled_at` by the scheduler.
    Scheduled,
    /// Visible in the Content API.
    Published,
    Archived,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Draft,
        Status::InReview,
        Status::Scheduled,
        Status::Published,
        Status::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::InReview => "in_review",
            Status::Scheduled => "scheduled",
            Status::Published => "published",
            Status::Archived => "archived",
        }
    }

    pub fn from_db(raw: &str) -> AppResult<Status> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| AppError::Internal(format!("unknown status `{raw}`")))
    }

    /// The statuses a translation may move to from this one. Scheduled → scheduled
    /// reschedules.
    pub fn next(self) -> &'static [Status] {
        match self {
            Status::Draft => &[Status::InReview, Status::Scheduled, Status::Published],
            Status::InReview => &[Status::Draft, Status::Scheduled, Status::Published],
            Status::Scheduled => &[Status::Draft, Status::Scheduled, Status::Published],
            Status::Published => &[Status::Draft, Status::Archived],
            Status::Archived => &[Status::Draft, Status::Published],
        }
    }

    /// Published and scheduled translations are on, or about to be on, the site.
    pub fn is_live(self) -> bool {
        matches!(self, Status::Published | Status::Scheduled)
    }
}

/// What the caller may do to one story.
pub struct Access {
    pub role: Role,
    pub owner: bool,
}

impl Access {
    /// 404 when the caller may not even know the story exists: contributors see only their
    /// own, so that other people's drafts do not leak.
    pub fn to(caller: &AuthUser, story: &Story) -> AppResult<Access> {
        let owner = story.is_owned_by(caller.id);
        if caller.role == Role::Contributor && !owner {
            return Err(not_found(story.article.id));
        }
        Ok(Access {
            role: caller.role,
            owner,
        })
    }

    fn forbidden(what: &str) -> AppError {
        AppError::Forbidden(format!("your role does not allow you to {what}"))
    }

    /// Editing the text of a translation in `status` (and its live entries, and restoring a
    /// revision): editors on any story, authors on their own, contributors on their own drafts.
    pub fn edit_translation(&self, status: Status) -> AppResult<()> {
        match self.role {
            Role::Editor | Role::Admin => Ok(()),
            Role::Author if self.owner => Ok(()),
            Role::Contributor if self.owner && status == Status::Draft => Ok(()),
            Role::Contributor if self.owner => Err(Self::forbidden(
                "change a translation once it has left draft",
            )),
            _ => Err(Self::forbidden("change other people's stories")),
        }
    }

    /// Story-level fields (type, tags, bylines, image …). Contributors only while nothing of
    /// the story is on the site.
    pub fn edit_story(&self, any_live: bool) -> AppResult<()> {
        match self.role {
            Role::Editor | Role::Admin => Ok(()),
            Role::Author if self.owner => Ok(()),
            Role::Contributor if self.owner && !any_live => Ok(()),
            _ => Err(Self::forbidden("change this story")),
        }
    }

    /// Featuring a story among the top stories and letting partners syndicate it are
    /// editorial decisions: editors and admins.
    pub fn set_editorial_flags(role: Role) -> AppResult<()> {
        match role {
            Role::Editor | Role::Admin => Ok(()),
            _ => Err(Self::forbidden("feature a story or open it to syndication")),
        }
    }

    /// Whom a story credits: contributors credit only themselves; authors and up anyone.
    pub fn credit(caller: &AuthUser, bylines: &[i64]) -> AppResult<()> {
        if caller.role == Role::Contributor && bylines.iter().any(|id| *id != caller.id) {
            return Err(Self::forbidden("credit anyone but yourself"));
        }
        Ok(())
    }

    /// Deleting a whole story is editorial: editors and admins.
    pub fn delete_story(&self) -> AppResult<()> {
        match self.role {
            Role::Editor | Role::Admin => Ok(()),
            _ => Err(Self::forbidden("delete stories")),
        }
    }

    /// Moving a translation from `from` to `to`: 409 listing the allowed statuses when the
    /// workflow has no such step, 403 when the step exists but the role may not take it.
    pub fn transition(&self, from: Status, to: Status) -> AppResult<()> {
        let allowed = from.next();
        if !allowed.contains(&to) {
            return Err(AppError::ConflictWith {
                detail: format!(
                    "a {} translation cannot become {}; it can become: {}",
                    from.as_str(),
                    to.as_str(),
                    allowed
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                extra: serde_json::json!({
                    "current_status": from,
                    "allowed_transitions": allowed,
                }),
            });
        }
        let may = match self.role {
            Role::Editor | Role::Admin => true,
            Role::Author => self.owner,
            // Submit for review, or withdraw from it.
            Role::Contributor => {
                self.owner
                    && matches!(
                        (from, to),
                        (Status::Draft, Status::InReview) | (Status::InReview, Status::Draft)
                    )
            }
        };
        if may {
            Ok(())
        } else {
            Err(Self::forbidden(&format!(
                "move this translation from {} to {}",
                from.as_str(),
                to.as_str()
            )))
        }
    }

    /// The statuses this caller may move a translation in `from` to.
    pub fn allowed_from(&self, from: Status) -> Vec<Status> {
        from.next()
            .iter()
            .copied()
            .filter(|to| self.transition(from, *to).is_ok())
            .collect()
    }
}

pub fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("no story with id {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(role: Role, owner: bool) -> Access {
        Access { role, owner }
    }

    #[test]
    fn the_role_matrix_of_transitions() {
        use Status::*;
        let contributor = access(Role::Contributor, true);
        assert!(contributor.transition(Draft, InReview).is_ok());
        assert!(contributor.transition(InReview, Draft).is_ok());
        assert!(contributor.transition(Draft, Published).is_err());
        assert!(access(Role::Author, true)
            .transition(Draft, Published)
            .is_ok());
        assert!(access(Role::Author, false)
            .transition(Draft, InReview)
            .is_err());
        assert!(access(Role::Editor, false)
            .transition(Published, Archived)
            .is_ok());
        let invalid = access(Role::Admin, true).transition(Draft, Archived);
        assert!(matches!(invalid, Err(AppError::ConflictWith { .. })));
        assert_eq!(
            access(Role::Contributor, true).allowed_from(Draft),
            vec![InReview]
        );
    }
}
