//! `modelyard-server`: the REST API of DESIGN.md §9 and the web dashboard, on the facade.

fn main() {}
