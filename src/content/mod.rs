//! The Content API: published stories for frontends, fast and cacheable.
//!
//! Everything here reads `published_translations`, a view of the published translations and
//! nothing else, so no filter a caller could change stands between a draft and the public.

pub mod article_page;
pub mod cards;
pub mod feed_links;
pub mod handlers;
pub mod page;
pub mod preview;
pub mod preview_handlers;
pub mod queries;
pub mod search;
pub mod views;
