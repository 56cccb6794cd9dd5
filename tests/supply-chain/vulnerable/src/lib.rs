//! Nothing: only its dependency matters.
