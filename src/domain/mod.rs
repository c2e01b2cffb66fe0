//! Values that cannot be built in a bad state: parse once at the edge, and every later layer
//! (handlers, SQL) takes these types instead of re-checking strings. Each limit is stated here once.

pub mod due;
pub mod email;
pub mod password;
pub mod priority;
pub mod recurrence;
pub mod tags;
pub mod text;

pub use due::DueAt;
pub use email::Email;
pub use password::Password;
pub use priority::Priority;
pub use recurrence::{Recurrence, Zone};
pub use tags::{Tag, Tags};
pub use text::{Color, Description, ListName, Name, Title};
