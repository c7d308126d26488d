//! KC's standard folder sets, created with a store.

/// One folder of a template: `parent` indexes an earlier entry (None = store root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderSpec {
    pub role: &'static str,
    pub name: &'static str,
    pub container_class: Option<&'static str>,
    pub parent: Option<usize>,
}

const fn f(
    role: &'static str,
    name: &'static str,
    class: Option<&'static str>,
    parent: Option<usize>,
) -> FolderSpec {
    FolderSpec {
        role,
        name,
        container_class: class,
        parent,
    }
}

const NOTE: Option<&str> = Some("IPF.Note");

/// The folders of a private store: the root, the non-IPM folders, and the
/// IPM subtree with the usual mail, calendar and contact folders.
pub const PRIVATE: &[FolderSpec] = &[
    /* 0 */ f("root", "", None, None),
    /* 1 */ f("ipm_subtree", "IPM_SUBTREE", None, Some(0)),
    /* 2 */ f("ipm_views", "IPM_VIEWS", None, Some(0)),
    /* 3 */ f("ipm_common_views", "IPM_COMMON_VIEWS", None, Some(0)),
    /* 4 */ f("finder_root", "FINDER_ROOT", None, Some(0)),
    /* 5 */ f("schedule", "Schedule", None, Some(0)),
    /* 6 */ f("shortcuts", "Shortcut", None, Some(0)),
    /* 7 */ f("freebusy", "Freebusy Data", None, Some(0)),
    /* 8 */ f("inbox", "Inbox", NOTE, Some(1)),
    /* 9 */ f("outbox", "Outbox", NOTE, Some(1)),
    /* 10 */ f("wastebasket", "Deleted Items", NOTE, Some(1)),
    /* 11 */ f("sentmail", "Sent Items", NOTE, Some(1)),
    /* 12 */ f("contacts", "Contacts", Some("IPF.Contact"), Some(1)),
    /* 13 */ f("calendar", "Calendar", Some("IPF.Appointment"), Some(1)),
    /* 14 */ f("drafts", "Drafts", NOTE, Some(1)),
    /* 15 */ f("journal", "Journal", Some("IPF.Journal"), Some(1)),
    /* 16 */ f("notes", "Notes", Some("IPF.StickyNote"), Some(1)),
    /* 17 */ f("tasks", "Tasks", Some("IPF.Task"), Some(1)),
    /* 18 */ f("junk", "Junk E-mail", NOTE, Some(1)),
    /* 19 */
    f(
        "rss",
        "RSS Feeds",
        Some("IPF.Note.OutlookHomepage"),
        Some(1),
    ),
    /* 20 */
    f(
        "conversation_actions",
        "Conversation Action Settings",
        Some("IPF.Configuration"),
        Some(1),
    ),
    /* 21 */
    f(
        "quickstep",
        "Quick Step Settings",
        Some("IPF.Configuration"),
        Some(1),
    ),
    /* 22 */
    f(
        "suggested_contacts",
        "Suggested Contacts",
        Some("IPF.Contact"),
        Some(1),
    ),
    /* 23 */ f("sync_issues", "Sync Issues", NOTE, Some(1)),
    /* 24 */ f("conflicts", "Conflicts", NOTE, Some(23)),
    /* 25 */ f("local_failures", "Local Failures", NOTE, Some(23)),
    /* 26 */ f("server_failures", "Server Failures", NOTE, Some(23)),
];

/// The folders of the public store.
pub const PUBLIC: &[FolderSpec] = &[
    f("root", "", None, None),
    f("ipm_subtree", "IPM_SUBTREE", None, Some(0)),
    f("non_ipm_subtree", "NON_IPM_SUBTREE", None, Some(0)),
    f("finder_root", "FINDER_ROOT", None, Some(0)),
    f("freebusy", "SCHEDULE+ FREE BUSY", None, Some(2)),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_well_formed() {
        for set in [PRIVATE, PUBLIC] {
            assert_eq!(set[0].parent, None);
            let mut roles = std::collections::HashSet::new();
            for (i, s) in set.iter().enumerate() {
                assert!(roles.insert(s.role), "duplicate role {}", s.role);
                if i > 0 {
                    assert!(s.parent.is_some_and(|p| p < i));
                }
            }
        }
    }
}
