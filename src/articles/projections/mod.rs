//! What the write side derives from published stories for the read side to serve fast: item
//! cards, the search index, the change feed partners follow, the webhook outbox and where media
//! are shown. Only the change pipeline ([`crate::articles::changes`]) writes
//! them, in the transaction of the change they follow.

pub mod cards;
pub mod change_log;
pub mod media_uses;
pub mod outbox;
pub mod search_index;
