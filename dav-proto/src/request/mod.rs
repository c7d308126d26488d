//! WebDAV, CalDAV and CardDAV request bodies, parsed into typed values.
//!
//! Each parser reads the body with [`crate::xml::parse_document`] (which
//! enforces the limits and refuses entities), checks the root element, then
//! walks the tree. Unknown elements are ignored where the RFCs say to
//! ignore them; a missing required element is a [`RequestError`].
//!
//! - [`propfind`]: PROPFIND (allprop with include, propname, prop list);
//! - [`proppatch`]: PROPPATCH and the MKCALENDAR / extended MKCOL bodies;
//! - [`report`]: the REPORT bodies (queries, multigets, free-busy, sync);
//! - [`filter`]: the calendar and address book filters, time ranges and
//!   text matches the queries carry.

pub mod filter;
pub mod propfind;
pub mod proppatch;
pub mod report;

use crate::names::{PropName, NS_DAV};
use crate::xml::{Element, XmlError, XmlName};

/// Why a request body is refused (see [`RequestError::status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The body is not acceptable XML, or breaks a limit.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// The root element is not the one this method takes.
    #[error("expected a {expected} body, found {found}")]
    UnexpectedRoot {
        /// The root element the method expects.
        expected: &'static str,
        /// The root element the body has.
        found: XmlName,
    },
    /// A required element is missing.
    #[error("missing required element {0}")]
    Missing(&'static str),
    /// An element or attribute holds a value outside its grammar.
    #[error("invalid {what}: {value:?}")]
    Invalid {
        /// Which element or attribute.
        what: &'static str,
        /// The value found (shortened to 64 characters).
        value: String,
    },
}

impl RequestError {
    /// The HTTP status to answer with: 413 when the body is over the size
    /// limit, 400 for everything else.
    pub fn status(&self) -> u16 {
        match self {
            RequestError::Xml(XmlError::TooLarge { .. }) => 413,
            _ => 400,
        }
    }

    /// An [`RequestError::Invalid`] with the value cut to 64 characters, so
    /// an error never echoes a whole hostile body.
    pub(crate) fn invalid(what: &'static str, value: &str) -> Self {
        RequestError::Invalid {
            what,
            value: value.chars().take(64).collect(),
        }
    }
}

/// Which properties a PROPFIND or REPORT asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropSelection {
    /// `DAV:allprop`: every live property the server would list by itself,
    /// plus the ones named in `DAV:include`.
    AllProp {
        /// Properties named in `DAV:include`.
        include: Vec<PropName>,
    },
    /// `DAV:propname`: the names of all properties, without values.
    PropName,
    /// `DAV:prop`: exactly these properties, in request order.
    Prop(Vec<PropName>),
}

impl PropSelection {
    /// Reads the selection among `parent`'s children, if there is one.
    pub(crate) fn from_parent(parent: &Element) -> Option<PropSelection> {
        for child in &parent.children {
            if child.is(NS_DAV, "allprop") {
                let include = parent
                    .child(NS_DAV, "include")
                    .map(prop_names)
                    .unwrap_or_default();
                return Some(PropSelection::AllProp { include });
            }
            if child.is(NS_DAV, "propname") {
                return Some(PropSelection::PropName);
            }
            if child.is(NS_DAV, "prop") {
                return Some(PropSelection::Prop(prop_names(child)));
            }
        }
        None
    }
}

/// The property names listed as children of `prop`, duplicates removed.
pub(crate) fn prop_names(prop: &Element) -> Vec<PropName> {
    let mut names: Vec<PropName> = Vec::with_capacity(prop.children.len());
    for child in &prop.children {
        let name = PropName::from_xml(&child.name);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Checks that the root element is `local` in namespace `ns`.
pub(crate) fn expect_root(
    root: &Element,
    ns: &str,
    local: &str,
    expected: &'static str,
) -> Result<(), RequestError> {
    if root.is(ns, local) {
        Ok(())
    } else {
        Err(RequestError::UnexpectedRoot {
            expected,
            found: root.name.clone(),
        })
    }
}

/// True when a body is absent or only whitespace, which several methods
/// treat as "no body" (PROPFIND means allprop, MKCALENDAR means defaults).
pub(crate) fn is_blank(body: &[u8]) -> bool {
    body.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}
