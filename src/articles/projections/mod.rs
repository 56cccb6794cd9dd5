//! What the write side derives from published stories for the read side to serve fast: item
//! cards, the search index and the change feed partners follow. Only the change pipeline ([`crate::articles::changes`]) writes
//! them, in the transaction of the change they follow.

pub mod cards;
pub mod change_log;
pub mod search_index;
