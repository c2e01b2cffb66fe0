//! What a task list asks for: which tasks (`Filter`, `Search`), in which order (`Sort`), and from
//! where on (`Position`, the last task of the page before). `task_list` builds the statement.

use super::tasks::TaskRow;
use super::DbResult;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The orders a list can come in. Every one ends with `id`, so no two tasks tie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    CreatedDesc,
    CreatedAsc,
    /// Tasks without a due date last.
    DueAsc,
    /// High first, then newest.
    PriorityDesc,
    /// Ignoring letter case.
    TitleAsc,
    UpdatedDesc,
}

impl Sort {
    pub const ALL: [Sort; 6] = [
        Sort::CreatedDesc,
        Sort::CreatedAsc,
        Sort::DueAsc,
        Sort::PriorityDesc,
        Sort::TitleAsc,
        Sort::UpdatedDesc,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Sort::CreatedDesc => "created_desc",
            Sort::CreatedAsc => "created_asc",
            Sort::DueAsc => "due_asc",
            Sort::PriorityDesc => "priority_desc",
            Sort::TitleAsc => "title_asc",
            Sort::UpdatedDesc => "updated_desc",
        }
    }

    pub fn parse(name: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Each order is served by an index of `sql/`, written here exactly as that index is; the
    /// order of last change by `task_order`'s, joined to the tasks (0006_hot_toggles.sql).
    pub(super) fn order_by(self) -> &'static str {
        match self {
            Sort::CreatedDesc => "created_at DESC, id DESC",
            Sort::CreatedAsc => "created_at, id",
            Sort::DueAsc => "coalesce(due_at, 'infinity'), id",
            Sort::PriorityDesc => "priority DESC, created_at DESC, id DESC",
            Sort::TitleAsc => "title_key, id",
            Sort::UpdatedDesc => "o.touched_at DESC, o.task_id DESC",
        }
    }
}

/// The sort key of the last task of a page, one variant per order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    CreatedDesc(DateTime<Utc>, i64),
    CreatedAsc(DateTime<Utc>, i64),
    DueAsc(Option<DateTime<Utc>>, i64),
    PriorityDesc(i16, DateTime<Utc>, i64),
    TitleAsc(String, i64),
    UpdatedDesc(DateTime<Utc>, i64),
}

impl Position {
    /// Where a page in `sort` order that ended with `task` goes on from.
    pub fn after(sort: Sort, task: &TaskRow) -> DbResult<Position> {
        let id = task.id()?;
        Ok(match sort {
            Sort::CreatedDesc => Position::CreatedDesc(task.created_at()?, id),
            Sort::CreatedAsc => Position::CreatedAsc(task.created_at()?, id),
            Sort::DueAsc => Position::DueAsc(task.due_at()?, id),
            Sort::PriorityDesc => {
                Position::PriorityDesc(task.priority_rank()?, task.created_at()?, id)
            }
            Sort::TitleAsc => Position::TitleAsc(task.title_key()?, id),
            Sort::UpdatedDesc => Position::UpdatedDesc(task.updated_at()?, id),
        })
    }

    pub fn sort(&self) -> Sort {
        match self {
            Position::CreatedDesc(..) => Sort::CreatedDesc,
            Position::CreatedAsc(..) => Sort::CreatedAsc,
            Position::DueAsc(..) => Sort::DueAsc,
            Position::PriorityDesc(..) => Sort::PriorityDesc,
            Position::TitleAsc(..) => Sort::TitleAsc,
            Position::UpdatedDesc(..) => Sort::UpdatedDesc,
        }
    }
}

/// Which tasks a list keeps. Empty lists and `None` keep everything.
#[derive(Debug, Default)]
pub struct Filter {
    pub completed: Option<bool>,
    /// Any of these ranks.
    pub priorities: Vec<i16>,
    /// All of these tags, compared with the stored tags in the database's letter-case folding.
    pub tags: Vec<String>,
    /// Every term a substring of the title or the description, ignoring case.
    pub search: Search,
    /// `due_at < due_before`.
    pub due_before: Option<DateTime<Utc>>,
    /// `due_at >= due_after`.
    pub due_after: Option<DateTime<Utc>>,
    /// One list of the caller's (checked by the statement like every other).
    pub list: Option<Uuid>,
    pub assignee: Option<Assignee>,
    /// `Some(None)`: top-level tasks only; `Some(Some(id))`: the subtasks of `id`.
    pub parent: Option<Option<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    /// The caller.
    Me,
    Nobody,
    Member(Uuid),
}

/// The terms of `q`, LIKE-escaped: `lead` is searched through the trigram index, `rest` checked on
/// the rows found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    pub lead: Option<String>,
    pub rest: Vec<String>,
}

impl Search {
    pub fn new(mut terms: Vec<String>) -> Search {
        let longest = (0..terms.len())
            .filter(|&i| terms[i].chars().count() >= 3)
            .max_by_key(|&i| terms[i].chars().count());
        let lead = longest.map(|i| terms.remove(i));
        Search { lead, rest: terms }
    }
}
