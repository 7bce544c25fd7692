//! Name cases between Rust and the bindings' callers: the facade's serde names are camelCase
//! (JSON, Node), its validation fields are Rust's snake_case, Python's keywords are snake_case.
//! Each binding converts with these, so the conversion is written once.

/// `validationSplit` -> `validation_split`; a snake_case name is unchanged.
pub fn snake_case(name: &str) -> String {
    let mut snake = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            snake.push('_');
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    snake
}

/// `early_stopping.patience` -> `earlyStopping.patience`; a camelCase name is unchanged.
pub fn camel_case(name: &str) -> String {
    let mut camel = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                camel.push(c.to_ascii_uppercase());
                upper = false;
            }
            c => camel.push(c),
        }
    }
    camel
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_go_both_ways() {
        assert_eq!(snake_case("validationSplit"), "validation_split");
        assert_eq!(snake_case("batch_size"), "batch_size");
        assert_eq!(camel_case("early_stopping.patience"), "earlyStopping.patience");
        assert_eq!(camel_case("jwtSecret"), "jwtSecret");
        assert_eq!(camel_case(&snake_case("cacheKeyPrefix")), "cacheKeyPrefix");
    }
}
