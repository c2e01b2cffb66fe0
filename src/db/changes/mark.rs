//! A reader's position in their changes: their own number and one per list.

use uuid::Uuid;

/// Where a client stands: the member's own number (changes of their lists themselves) and, for
/// each list it knows, the list's number up to which it has every change. A list it does not
/// know (joined since, or never read) comes whole, as created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    pub user: i64,
    /// Sorted by list id.
    pub lists: Vec<(Uuid, i64)>,
}

impl Mark {
    pub fn get(&self, list: Uuid) -> Option<i64> {
        self.lists
            .binary_search_by_key(&list, |(l, _)| *l)
            .ok()
            .map(|i| self.lists[i].1)
    }

    pub fn set(&mut self, list: Uuid, n: i64) {
        match self.lists.binary_search_by_key(&list, |(l, _)| *l) {
            Ok(i) => self.lists[i].1 = n,
            Err(i) => self.lists.insert(i, (list, n)),
        }
    }

    /// A position from its parts in any order, the later of two for one list.
    pub fn new(user: i64, lists: impl IntoIterator<Item = (Uuid, i64)>) -> Mark {
        let mut lists: Vec<(Uuid, i64)> = lists.into_iter().collect();
        lists.sort_unstable_by(|(l, n), (m, k)| l.cmp(m).then(k.cmp(n)));
        lists.dedup_by_key(|(l, _)| *l);
        Mark { user, lists }
    }

    /// Is a change numbered `n` in `list` after this position?
    pub fn before(&self, list: Uuid, n: i64) -> bool {
        self.get(list).is_none_or(|at| n > at)
    }

    /// The user's number plus every list's: a list cache's version (see `list_cache`).
    pub fn sum(&self) -> i64 {
        self.lists
            .iter()
            .fold(self.user, |sum, (_, n)| sum.wrapping_add(*n))
    }

    /// The later of the two numbers of each list (and of the member's).
    pub fn merge(&mut self, other: &Mark) {
        self.user = self.user.max(other.user);
        for (list, n) in &other.lists {
            if self.before(*list, *n) {
                self.set(*list, *n);
            }
        }
    }

    /// The oldest of two positions: what a reader for both must read from (a list one of them
    /// does not know is read whole).
    pub fn min(&self, other: &Mark) -> Mark {
        let lists = self
            .lists
            .iter()
            .filter_map(|(l, n)| Some((*l, (*n).min(other.get(*l)?))));
        Mark {
            user: self.user.min(other.user),
            lists: lists.collect(),
        }
    }
}
