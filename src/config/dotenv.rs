//! The optional `.env` file: `KEY=VALUE` lines, `#` comments, optional `export `, optional
//! matching quotes.

use std::collections::HashMap;

pub fn parse(text: &str) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        if let Some((key, value)) = line.split_once('=') {
            let value = value.trim();
            let unquoted = [('"', '"'), ('\'', '\'')]
                .iter()
                .find_map(|(a, b)| value.strip_prefix(*a).and_then(|v| v.strip_suffix(*b)))
                .unwrap_or(value);
            vars.insert(key.trim().to_string(), unquoted.to_string());
        }
    }
    vars
}

#[cfg(test)]
mod tests {
    #[test]
    fn dotenv_lines_are_parsed_with_quotes_and_comments() {
        let v = super::parse("# c\nexport A=1\nB=\"two words\"\nC='x'\n");
        assert_eq!(v["A"], "1");
        assert_eq!(v["B"], "two words");
        assert_eq!(v["C"], "x");
    }
}
