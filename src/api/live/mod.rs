//! Live events: the stream routes, this instance's open streams (`hub`), the one connection that
//! listens for every instance's changes (`listener`), and the after-commit notifier that tells them.

pub mod events;
pub mod hub;
pub mod listener;
pub mod notifier;
