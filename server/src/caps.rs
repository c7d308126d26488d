//! Capability bits and request flags of KC's SOAP protocol (kcore.hpp, ECDefs.h).

/// `KOPANO_CAP_*` bits exchanged in `logon.ulCapabilities`.
pub mod cap {
    pub const COMPRESSION: u32 = 0x0001;
    pub const MAILBOX_OWNER: u32 = 0x0002;
    pub const CRYPT: u32 = 0x0008;
    pub const LARGE_SESSIONID: u32 = 0x0010;
    pub const LICENSE_SERVER: u32 = 0x0020;
    pub const MULTI_SERVER: u32 = 0x0040;
    pub const LOADPROP_ENTRYID: u32 = 0x0080;
    pub const ENHANCED_ICS: u32 = 0x0100;
    pub const UNICODE: u32 = 0x0200;
    pub const MSGLOCK: u32 = 0x0400;
    pub const EXPORT_PROPTAG: u32 = 0x0800;
    pub const IMPERSONATION: u32 = 0x1000;
    pub const MAX_ABCHANGEID: u32 = 0x2000;
    pub const EXTENDED_ANON: u32 = 0x4000;
    pub const GIFN32: u32 = 0x8000;

    /// Bits the server always grants.
    pub const ALWAYS: u32 =
        CRYPT | LICENSE_SERVER | LOADPROP_ENTRYID | EXPORT_PROPTAG | IMPERSONATION | GIFN32;
    /// Bits echoed only when the client sent them.
    pub const ECHOED: u32 = MULTI_SERVER | UNICODE | MSGLOCK;
}

/// `logon.ulFlags`.
pub mod logon_flag {
    /// Do not authenticate by unix peer credentials.
    pub const NO_UID_AUTH: u32 = 0x1;
    pub const NO_REGISTER_SESSION: u32 = 0x2;
}

/// `resolveUserStore.ulFlags`: do not redirect to the home server.
pub const OPENSTORE_OVERRIDE_HOME_MDB: u32 = 16;
/// `getPublicStore.ulFlags`: do not redirect to the public store's server.
pub const EC_OVERRIDE_HOMESERVER: u32 = 0x1;

/// Store types as used in `resolveUserStore.ulStoreTypeMask` (bit = 1 << type).
pub mod store_type {
    pub const PRIVATE: u32 = 0;
    pub const PUBLIC: u32 = 1;
    pub const ARCHIVE: u32 = 2;
    pub const fn bit(t: u32) -> u32 {
        1 << t
    }
}

/// `getServerDetails.ulFlags` (request) and `server.ulFlags` (reply).
pub mod server_details {
    pub const NO_NAME: u32 = 0x1;
    pub const FILEPATH: u32 = 0x2;
    pub const HTTPPATH: u32 = 0x4;
    pub const SSLPATH: u32 = 0x8;
    pub const PREFEREDPATH: u32 = 0x10;
    pub const ALL: u32 = NO_NAME | FILEPATH | HTTPPATH | SSLPATH | PREFEREDPATH;
    pub const IS_PEER: u32 = 0x1;
    pub const HAS_PUBLIC: u32 = 0x2;
}

/// The capabilities the server answers to a logon that asked for `client`.
///
/// `compression` says whether compression is granted for this connection (KC
/// grants it only to non-local peers); enhanced ICS is never granted because
/// the streaming calls are not implemented.
pub fn negotiate(client: u32, compression: bool) -> u32 {
    let mut caps = cap::ALWAYS | (client & cap::ECHOED);
    if compression && client & cap::COMPRESSION != 0 {
        caps |= cap::COMPRESSION;
    }
    caps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_client_caps() {
        let client = cap::GIFN32
            | cap::MAILBOX_OWNER
            | cap::MULTI_SERVER
            | cap::ENHANCED_ICS
            | cap::UNICODE
            | cap::MSGLOCK
            | cap::MAX_ABCHANGEID
            | cap::EXTENDED_ANON
            | cap::LARGE_SESSIONID;
        let got = negotiate(client, false);
        assert_eq!(
            got,
            cap::ALWAYS | cap::MULTI_SERVER | cap::UNICODE | cap::MSGLOCK
        );
        assert_eq!(negotiate(cap::UNICODE, false) & cap::MULTI_SERVER, 0);
        assert_eq!(
            negotiate(cap::COMPRESSION, true) & cap::COMPRESSION,
            cap::COMPRESSION
        );
        assert_eq!(negotiate(cap::COMPRESSION, false) & cap::COMPRESSION, 0);
    }
}
