//! The store's folder tree as an IMAP hierarchy (`/` delimiter) and the
//! LIST / LSUB pattern matching on it.
//!
//! The folders below the store's IPM subtree are the top level; the folder
//! with role `inbox` is `INBOX` whatever its display name. KC's
//! `imap_only_mailfolders` hides folders whose container class is not mail
//! (calendar, contacts, ...) together with everything below them.

use std::collections::HashMap;

use kc_store_api::client::FolderInfo;

/// The hierarchy delimiter.
pub(crate) const DELIM: char = '/';

/// One visible mailbox.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub id: i64,
    /// Full IMAP name (decoded), `INBOX` for the inbox.
    pub name: String,
    pub role: Option<String>,
    pub has_children: bool,
    pub uid_validity: u32,
}

impl Entry {
    /// RFC 6154 attribute from the folder's role.
    pub fn special_use(&self) -> Option<&'static str> {
        match self.role.as_deref()? {
            "sentmail" => Some("\\Sent"),
            "drafts" => Some("\\Drafts"),
            "wastebasket" => Some("\\Trash"),
            "junk" => Some("\\Junk"),
            _ => None,
        }
    }
}

/// The visible mailboxes of a store.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tree {
    /// The IPM subtree: parent of top-level mailboxes.
    pub root: Option<i64>,
    pub entries: Vec<Entry>,
}

fn is_mail_class(class: Option<&str>) -> bool {
    match class {
        None | Some("") => true,
        Some(c) => c.len() >= 8 && c[..8].eq_ignore_ascii_case("IPF.Note"),
    }
}

impl Tree {
    pub fn build(folders: &[FolderInfo], only_mail: bool) -> Tree {
        let root = folders
            .iter()
            .find(|f| f.role.as_deref() == Some("ipm_subtree"))
            .map(|f| f.id);
        let Some(root) = root else {
            return Tree::default();
        };
        let by_id: HashMap<i64, &FolderInfo> = folders.iter().map(|f| (f.id, f)).collect();
        let mut names: HashMap<i64, Option<String>> = HashMap::new();
        // Resolves a folder's path iteratively (bounded by the folder count,
        // so a cycle in bad data cannot loop forever).
        let resolve = |id: i64, names: &mut HashMap<i64, Option<String>>| -> Option<String> {
            let mut chain = Vec::new();
            let mut cur = id;
            let mut prefix: Option<String> = None;
            for _ in 0..=folders.len() {
                if cur == root {
                    prefix = Some(String::new());
                    break;
                }
                if let Some(known) = names.get(&cur) {
                    prefix = known.clone();
                    break;
                }
                let f = by_id.get(&cur)?;
                if only_mail && !is_mail_class(f.class.as_deref()) {
                    chain.push(cur);
                    prefix = None;
                    break;
                }
                chain.push(cur);
                cur = f.parent?;
            }
            // Walk back down, naming each folder of the chain.
            let mut path = prefix;
            for &fid in chain.iter().rev() {
                path = match (path, by_id.get(&fid)) {
                    (Some(p), Some(f)) if !only_mail || is_mail_class(f.class.as_deref()) => {
                        let leaf = if f.role.as_deref() == Some("inbox") && p.is_empty() {
                            "INBOX".to_string()
                        } else {
                            f.name.replace(DELIM, "_")
                        };
                        Some(if p.is_empty() {
                            leaf
                        } else {
                            format!("{p}{DELIM}{leaf}")
                        })
                    }
                    _ => None,
                };
                names.insert(fid, path.clone());
            }
            path
        };
        let mut entries = Vec::new();
        for f in folders {
            if f.id == root {
                continue;
            }
            if let Some(name) = resolve(f.id, &mut names) {
                entries.push(Entry {
                    id: f.id,
                    name,
                    role: f.role.clone(),
                    has_children: false,
                    uid_validity: f.uid_validity,
                });
            }
        }
        let visible: std::collections::HashSet<i64> = entries.iter().map(|e| e.id).collect();
        let parents: std::collections::HashSet<i64> = folders
            .iter()
            .filter(|f| visible.contains(&f.id))
            .filter_map(|f| f.parent)
            .collect();
        for e in &mut entries {
            e.has_children = parents.contains(&e.id);
        }
        entries.sort_by(|a, b| (a.name != "INBOX", &a.name).cmp(&(b.name != "INBOX", &b.name)));
        Tree {
            root: Some(root),
            entries,
        }
    }

    /// Finds a mailbox by IMAP name (INBOX case-insensitively).
    pub fn find(&self, name: &str) -> Option<&Entry> {
        let name = name.trim_end_matches(DELIM);
        let canon = canonical(name);
        self.entries.iter().find(|e| e.name == canon)
    }
}

/// `INBOX` in any case (also as the first level) spelt `INBOX`.
pub(crate) fn canonical(name: &str) -> String {
    let (first, rest) = match name.split_once(DELIM) {
        Some((f, r)) => (f, Some(r)),
        None => (name, None),
    };
    if first.eq_ignore_ascii_case("INBOX") {
        match rest {
            Some(r) => format!("INBOX{DELIM}{r}"),
            None => "INBOX".to_string(),
        }
    } else {
        name.to_string()
    }
}

/// Whether `name` matches the LIST pattern (`*` matches anything, `%`
/// anything but the delimiter). Iterative with backtracking on the last
/// star, so hostile patterns stay O(n·m).
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches_chars(&p, &n)
}

fn matches_chars(p: &[char], n: &[char]) -> bool {
    // Dynamic programming over (pattern position, name position).
    let mut cur = vec![false; n.len() + 1];
    cur[0] = true;
    for &pc in p {
        let mut next = vec![false; n.len() + 1];
        match pc {
            '*' => {
                let mut any = false;
                for j in 0..=n.len() {
                    any |= cur[j];
                    next[j] = any;
                }
            }
            '%' => {
                let mut any = false;
                for j in 0..=n.len() {
                    if j > 0 && n[j - 1] == DELIM {
                        any = false;
                    }
                    any |= cur[j];
                    next[j] = any;
                }
            }
            c => {
                for j in 1..=n.len() {
                    next[j] = cur[j - 1] && n[j - 1] == c;
                }
            }
        }
        cur = next;
    }
    cur[n.len()]
}

/// The pattern LIST and LSUB use: reference and pattern concatenated as
/// they are (RFC 3501 §6.3.8: `LIST "INBOX" "*"` is the pattern `INBOX*`,
/// `LIST "a" "b*"` is `ab*`, as Dovecot joins them), INBOX normalised. A
/// pattern starting with the delimiter is absolute: the reference is
/// ignored.
pub(crate) fn full_pattern(reference: &str, pattern: &str) -> String {
    let joined = if pattern.starts_with(DELIM) {
        pattern.to_string()
    } else {
        format!("{reference}{pattern}")
    };
    canonical(&joined)
}

/// Whether mailbox `name` matches a [`full_pattern`]: as [`matches`], with
/// `INBOX` at the start of the pattern in any case (`inbox*`, `Inbox/%`)
/// matching the inbox and its children.
pub(crate) fn list_matches(pattern: &str, name: &str) -> bool {
    if matches(pattern, name) {
        return true;
    }
    let inbox = name == "INBOX" || name.starts_with("INBOX/");
    match pattern.get(..5) {
        Some(head) if inbox && head.eq_ignore_ascii_case("INBOX") && head != "INBOX" => {
            matches(&format!("INBOX{}", &pattern[5..]), name)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(
        id: i64,
        parent: Option<i64>,
        name: &str,
        class: Option<&str>,
        role: Option<&str>,
    ) -> FolderInfo {
        FolderInfo {
            id,
            parent,
            name: name.into(),
            class: class.map(Into::into),
            role: role.map(Into::into),
            uid_validity: 1,
            uid_next: 1,
            highest_modseq: 0,
            exists: 0,
        }
    }

    #[test]
    fn builds_hierarchy() {
        let folders = vec![
            f(1, None, "", None, Some("root")),
            f(2, Some(1), "IPM_SUBTREE", None, Some("ipm_subtree")),
            f(3, Some(2), "Inbox", Some("IPF.Note"), Some("inbox")),
            f(4, Some(3), "Sub/x", Some("IPF.Note"), None),
            f(
                5,
                Some(2),
                "Calendar",
                Some("IPF.Appointment"),
                Some("calendar"),
            ),
            f(6, Some(5), "Cal child", None, None),
            f(7, Some(2), "Sent Items", Some("IPF.Note"), Some("sentmail")),
            f(8, Some(1), "Freebusy Data", None, Some("freebusy")),
        ];
        let t = Tree::build(&folders, true);
        let names: Vec<&str> = t.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, vec!["INBOX", "INBOX/Sub_x", "Sent Items"]);
        assert!(t.find("inbox").unwrap().has_children);
        assert_eq!(t.find("Sent Items").unwrap().special_use(), Some("\\Sent"));
        let all = Tree::build(&folders, false);
        assert!(all.find("Calendar/Cal child").is_some());
    }

    #[test]
    fn patterns() {
        assert!(matches("*", "a/b"));
        assert!(!matches("%", "a/b"));
        assert!(matches("a/%", "a/b"));
        assert!(matches("INBOX", "INBOX"));
        assert!(matches("*b", "a/b"));
        assert!(!matches("a", "ab"));
        assert_eq!(full_pattern("inbox/", "%"), "INBOX/%");
    }

    /// Issue #21, bug 1: reference and pattern are concatenated, so curl's
    /// `LIST "INBOX" *` lists INBOX and `LIST "__" "x*"` finds `__x`.
    #[test]
    fn reference_is_joined_with_the_pattern() {
        assert_eq!(full_pattern("__x", "*"), "__x*");
        assert!(list_matches(&full_pattern("__x", "*"), "__x"));
        assert!(list_matches(&full_pattern("__x", "*"), "__x/y"));
        assert!(list_matches(&full_pattern("__", "x*"), "__x"));
        assert!(list_matches(&full_pattern("__", "x*"), "__x/y"));
        assert!(!list_matches(&full_pattern("__", "x%"), "__x/y"));
        assert!(list_matches(&full_pattern("INBOX", "*"), "INBOX"));
        assert!(list_matches(&full_pattern("inbox", "*"), "INBOX/a"));
        assert!(list_matches(&full_pattern("Inbox/", "%"), "INBOX/a"));
        assert!(list_matches(&full_pattern("", "inbox"), "INBOX"));
        assert!(list_matches(&full_pattern("ignored/", "/abs"), "/abs"));
        assert!(list_matches(&full_pattern("a/", "b"), "a/b"));
    }
}
