//! Tools beside the service, which the `newsdesk` command runs and the service itself never
//! does: the demo content a first `serve --demo` creates, and the generated archive the
//! benchmarks read. They write through the same modules as the Admin API.

pub mod demo;
pub mod seed;
