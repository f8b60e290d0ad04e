//! "Did you mean" suggestions for misspelt names.

/// The candidate closest to `name`, if one is close enough to be a likely typo.
///
/// Closeness is the edit distance between the lowercased names; a candidate is
/// close enough when the distance is at most a third of the name's length
/// (and at least one edit is always allowed).
pub fn closest<'a, I>(name: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let wanted = name.to_lowercase();
    let limit = name.chars().count() / 3 + 1;
    candidates
        .into_iter()
        .map(|candidate| (distance(&wanted, &candidate.to_lowercase()), candidate))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over chars, with one row of memory.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("charge", "charge"), 0);
    }

    #[test]
    fn suggests_close_names_only() {
        let names = ["Charge", "Reserve", "Done"];
        assert_eq!(closest("Chrage", names), Some("Charge"));
        assert_eq!(closest("done", names), Some("Done"));
        assert_eq!(closest("Shipping", names), None);
    }
}
