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

/// A validation error's field for a camelCase caller (JSON, Node): `early_stopping.patience` ->
/// `earlyStopping.patience`. The keys of `rows[i]` are the dataset's column names, data the
/// caller wrote as they are, so `rows[0].sepal_length` is unchanged.
pub fn camel_case_field(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while !rest.is_empty() {
        if rest.starts_with("rows[") {
            out.push_str(rest);
            break;
        }
        let (segment, tail) = match rest.find('.') {
            Some(at) => rest.split_at(at + 1),
            None => (rest, ""),
        };
        out.push_str(&camel_case(segment));
        rest = tail;
    }
    out
}

/// An error message for a camelCase caller: every setting name in it (a word of lowercase
/// letters and digits joined by underscores, such as `jwt_secret` or allow_missing) is put in
/// camelCase, except inside double quotes, where Modelyard quotes the caller's data (a column
/// name, a value) as it was written.
pub fn camel_case_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut word = String::new();
    let mut quoted = false;
    let flush = |word: &mut String, out: &mut String, quoted: bool| {
        let is_name = !quoted
            && word.contains('_')
            && word.starts_with(|c: char| c.is_ascii_lowercase())
            && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if is_name {
            out.push_str(&camel_case(word));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in message.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out, quoted);
            quoted ^= c == '"';
            out.push(c);
        }
    }
    flush(&mut word, &mut out, quoted);
    out
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

    #[test]
    fn fields_keep_the_callers_column_names() {
        assert_eq!(camel_case_field("early_stopping.patience"), "earlyStopping.patience");
        assert_eq!(camel_case_field("layers[2].units"), "layers[2].units");
        assert_eq!(camel_case_field("rows[0].sepal_length"), "rows[0].sepal_length");
        assert_eq!(camel_case_field("rows[3]"), "rows[3]");
        assert_eq!(camel_case_field("batch_size"), "batchSize");
    }

    #[test]
    fn messages_rename_settings_but_not_quoted_data() {
        assert_eq!(
            camel_case_message(r#"missing feature column "sepal_length": set allow_missing"#),
            r#"missing feature column "sepal_length": set allowMissing"#
        );
        assert_eq!(
            camel_case_message("`jwt_secret` must be longer (cache_namespace too)"),
            "`jwtSecret` must be longer (cacheNamespace too)"
        );
        assert_eq!(camel_case_message("e.g. 2,000 rows"), "e.g. 2,000 rows");
    }
}
