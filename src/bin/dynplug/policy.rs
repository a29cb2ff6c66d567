//! `--policy FILE`: an allow-list of imports, one name per line.

use std::path::Path;

/// The names in the policy file at `path`: one per line, surrounding blanks trimmed; blank lines
/// and everything from a `#` on are ignored.
pub fn read(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read policy {}: {e}", path.display()))?;
    Ok(parse(&text))
}

fn parse(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn comments_and_blank_lines_are_ignored() {
        let text = "# allowed\nmalloc\n\n  free  # the pair\n#memcpy\nputs";
        assert_eq!(super::parse(text), ["malloc", "free", "puts"]);
    }
}
