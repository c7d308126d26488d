//! The MS-ASWBXML code pages: which tag token on which page is which name,
//! in which XML namespace.
//!
//! The data lives in `tables.rs` (one line a tag, generated); this module answers the
//! lookups the codec and the XML form need.

// One tag a line, as generated: rustfmt would spread each over six.
#[rustfmt::skip]
mod tables;

pub use tables::*;

/// One tag of a code page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagDef {
    /// The token, 0x05 to 0x3F.
    pub token: u8,
    /// The name in the specification.
    pub name: &'static str,
    /// libwbxml's spelling where it differs from `name`; the XML form
    /// writes it and accepts both.
    pub xml_alias: Option<&'static str>,
    /// Whether the content is binary: OPAQUE in WBXML, base64 in XML.
    pub binary: bool,
}

impl TagDef {
    /// The name the XML form writes (libwbxml's spelling).
    pub fn xml_name(&self) -> &'static str {
        self.xml_alias.unwrap_or(self.name)
    }
}

/// One code page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodePage {
    /// The page number used by SWITCH_PAGE.
    pub number: u8,
    /// The namespace name in the specification (`AirSync`, `GAL`, ...).
    pub namespace: &'static str,
    /// The namespace URI the XML form writes, as libwbxml does
    /// (`AirSync:`, `Gal:`, ...).
    pub xml_namespace: &'static str,
    /// The tags, sorted by token.
    pub tags: &'static [TagDef],
}

impl CodePage {
    /// The tag with this token, if the page defines it.
    pub fn tag(&self, token: u8) -> Option<&'static TagDef> {
        self.tags
            .binary_search_by_key(&token, |t| t.token)
            .ok()
            .and_then(|i| self.tags.get(i))
    }

    /// The tag with this name (the specification's or libwbxml's spelling).
    pub fn tag_by_name(&self, name: &str) -> Option<&'static TagDef> {
        self.tags
            .iter()
            .find(|t| t.name == name || t.xml_alias == Some(name))
    }
}

/// All pages, in page order.
pub fn pages() -> &'static [CodePage] {
    PAGES
}

/// The page with this number, if MS-ASWBXML defines it.
pub fn page(number: u8) -> Option<&'static CodePage> {
    PAGES.get(usize::from(number))
}

/// The page whose namespace is `ns`: the specification's name or the XML
/// namespace URI, with or without the trailing colon.
pub fn page_by_namespace(ns: &str) -> Option<&'static CodePage> {
    let bare = ns.strip_suffix(':').unwrap_or(ns);
    PAGES
        .iter()
        .find(|p| p.namespace == bare || p.xml_namespace.strip_suffix(':') == Some(bare))
}

/// The tag definition of `token` on `page`.
pub fn tag(page: u8, token: u8) -> Option<&'static TagDef> {
    self::page(page).and_then(|p| p.tag(token))
}

/// The specification's name of `token` on `page`.
pub fn tag_name(page: u8, token: u8) -> Option<&'static str> {
    tag(page, token).map(|t| t.name)
}

/// The token of the tag `name` on `page`.
pub fn token(page: u8, name: &str) -> Option<u8> {
    self::page(page)
        .and_then(|p| p.tag_by_name(name))
        .map(|t| t.token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_numbered_by_position_and_sorted() {
        assert_eq!(pages().len(), 26);
        for (i, p) in pages().iter().enumerate() {
            assert_eq!(usize::from(p.number), i);
            assert!(
                p.tags.windows(2).all(|w| w[0].token < w[1].token),
                "{}",
                p.namespace
            );
            assert!(p.tags.iter().all(|t| (0x05..=0x3F).contains(&t.token)));
            for t in p.tags {
                assert_eq!(
                    p.tag_by_name(t.name).map(|d| d.token),
                    Some(t.token),
                    "{}",
                    t.name
                );
            }
        }
    }

    #[test]
    fn well_known_tokens() {
        assert_eq!(token(AIRSYNC, "Sync"), Some(0x05));
        assert_eq!(token(FOLDER_HIERARCHY, "FolderSync"), Some(0x16));
        assert_eq!(token(PING, "HeartbeatInterval"), Some(0x08));
        assert_eq!(token(PROVISION, "PolicyKey"), Some(0x09));
        assert_eq!(token(COMPOSE_MAIL, "Mime"), Some(0x10));
        assert_eq!(token(COMPOSE_MAIL, "MIME"), Some(0x10));
        assert_eq!(token(EMAIL, "ReplyTo"), Some(0x19));
        assert_eq!(tag_name(AIR_SYNC_BASE, 0x0A), Some("Body"));
        assert_eq!(tag_name(FIND, 0x05), Some("Find"));
        assert_eq!(page_by_namespace("Gal:").map(|p| p.number), Some(GAL));
        assert_eq!(page_by_namespace("GAL").map(|p| p.number), Some(GAL));
        assert!(page(26).is_none());
        assert!(tag(AIRSYNC, 0x3F).is_none());
    }
}
