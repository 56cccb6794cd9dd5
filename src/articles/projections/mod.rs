//! What the write side derives from published stories for the read side to serve fast: item
//! cards and the search index. Only the change pipeline ([`crate::articles::changes`]) writes
//! them, in the transaction of the change they follow.

pub mod cards;
pub mod search_index;
