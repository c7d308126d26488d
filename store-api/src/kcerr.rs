//! KC's `KCERR_*` result codes (kcodes.h; the same numbers as ZCP's `ZARAFA_E_*`).
//!
//! The node answers them in SOAP `er` fields and in the store API's error
//! bodies ([`crate::wire::ErrorBody`]); the client reads them from both.
//!
//! Every code is `0x80000000 | n`; on the wire the `er` field carries the
//! unsigned decimal value, e.g. `UNABLE_TO_COMPLETE` is `2147483688`.

use std::fmt;

/// A KC result code as carried in the `er` element of a SOAP response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KcErr(pub u32);

const fn e(n: u32) -> KcErr {
    KcErr(0x8000_0000 | n)
}

impl KcErr {
    pub const NONE: KcErr = KcErr(0);
    pub const UNKNOWN: KcErr = e(1);
    pub const NOT_FOUND: KcErr = e(2);
    pub const NO_ACCESS: KcErr = e(3);
    pub const NETWORK_ERROR: KcErr = e(4);
    pub const SERVER_NOT_RESPONDING: KcErr = e(5);
    pub const INVALID_TYPE: KcErr = e(6);
    pub const DATABASE_ERROR: KcErr = e(7);
    pub const COLLISION: KcErr = e(8);
    pub const LOGON_FAILED: KcErr = e(9);
    pub const HAS_MESSAGES: KcErr = e(10);
    pub const HAS_FOLDERS: KcErr = e(11);
    pub const HAS_RECIPIENTS: KcErr = e(12);
    pub const HAS_ATTACHMENTS: KcErr = e(13);
    pub const NOT_ENOUGH_MEMORY: KcErr = e(14);
    pub const TOO_COMPLEX: KcErr = e(15);
    pub const END_OF_SESSION: KcErr = e(16);
    /// A warning in KC, but its macro sets the high bit as well.
    pub const CALL_KEEPALIVE: KcErr = e(17);
    pub const UNABLE_TO_ABORT: KcErr = e(18);
    pub const NOT_IN_QUEUE: KcErr = e(19);
    pub const INVALID_PARAMETER: KcErr = e(20);
    pub const PARTIAL_COMPLETION: KcErr = e(21);
    pub const INVALID_ENTRYID: KcErr = e(22);
    pub const BAD_VALUE: KcErr = e(23);
    pub const NO_SUPPORT: KcErr = e(24);
    pub const TOO_BIG: KcErr = e(25);
    pub const POSITION_CHANGED: KcErr = e(26);
    pub const FOLDER_CYCLE: KcErr = e(27);
    pub const STORE_FULL: KcErr = e(28);
    pub const PLUGIN_ERROR: KcErr = e(29);
    pub const UNKNOWN_OBJECT: KcErr = e(30);
    pub const NOT_IMPLEMENTED: KcErr = e(31);
    pub const DATABASE_NOT_FOUND: KcErr = e(32);
    pub const INVALID_VERSION: KcErr = e(33);
    pub const UNKNOWN_DATABASE: KcErr = e(34);
    pub const NOT_INITIALIZED: KcErr = e(35);
    pub const CALL_FAILED: KcErr = e(36);
    pub const SSO_CONTINUE: KcErr = e(37);
    pub const TIMEOUT: KcErr = e(38);
    pub const INVALID_BOOKMARK: KcErr = e(39);
    pub const UNABLE_TO_COMPLETE: KcErr = e(40);
    pub const UNKNOWN_INSTANCE_ID: KcErr = e(41);
    pub const IGNORE_ME: KcErr = e(42);
    pub const BUSY: KcErr = e(43);
    pub const OBJECT_DELETED: KcErr = e(44);
    pub const USER_CANCEL: KcErr = e(45);
    pub const UNKNOWN_FLAGS: KcErr = e(46);
    pub const SUBMITTED: KcErr = e(47);
    pub const UNCONFIGURED: KcErr = e(48);
    pub const BAD_CHARWIDTH: KcErr = e(49);

    /// The decimal value as written into `<er>`.
    pub fn wire(self) -> u32 {
        self.0
    }

    pub fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// The KC name without the `KCERR_` prefix, for logs and kc-admin messages.
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 50] = [
            "NONE",
            "UNKNOWN",
            "NOT_FOUND",
            "NO_ACCESS",
            "NETWORK_ERROR",
            "SERVER_NOT_RESPONDING",
            "INVALID_TYPE",
            "DATABASE_ERROR",
            "COLLISION",
            "LOGON_FAILED",
            "HAS_MESSAGES",
            "HAS_FOLDERS",
            "HAS_RECIPIENTS",
            "HAS_ATTACHMENTS",
            "NOT_ENOUGH_MEMORY",
            "TOO_COMPLEX",
            "END_OF_SESSION",
            "CALL_KEEPALIVE",
            "UNABLE_TO_ABORT",
            "NOT_IN_QUEUE",
            "INVALID_PARAMETER",
            "PARTIAL_COMPLETION",
            "INVALID_ENTRYID",
            "BAD_VALUE",
            "NO_SUPPORT",
            "TOO_BIG",
            "POSITION_CHANGED",
            "FOLDER_CYCLE",
            "STORE_FULL",
            "PLUGIN_ERROR",
            "UNKNOWN_OBJECT",
            "NOT_IMPLEMENTED",
            "DATABASE_NOT_FOUND",
            "INVALID_VERSION",
            "UNKNOWN_DATABASE",
            "NOT_INITIALIZED",
            "CALL_FAILED",
            "SSO_CONTINUE",
            "TIMEOUT",
            "INVALID_BOOKMARK",
            "UNABLE_TO_COMPLETE",
            "UNKNOWN_INSTANCE_ID",
            "IGNORE_ME",
            "BUSY",
            "OBJECT_DELETED",
            "USER_CANCEL",
            "UNKNOWN_FLAGS",
            "SUBMITTED",
            "UNCONFIGURED",
            "BAD_CHARWIDTH",
        ];
        if self.0 == 0 {
            return NAMES[0];
        }
        if self.0 & 0x8000_0000 == 0 {
            return "UNKNOWN_CODE";
        }
        let n = (self.0 & 0x7fff_ffff) as usize;
        NAMES.get(n).copied().unwrap_or("UNKNOWN_CODE")
    }
}

impl fmt::Display for KcErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KCERR_{} (0x{:08x})", self.name(), self.0)
    }
}

impl std::error::Error for KcErr {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_match_reference_table() {
        assert_eq!(KcErr::NONE.wire(), 0);
        assert_eq!(KcErr::UNKNOWN.wire(), 2147483649);
        assert_eq!(KcErr::NOT_FOUND.wire(), 2147483650);
        assert_eq!(KcErr::NO_ACCESS.wire(), 2147483651);
        assert_eq!(KcErr::NETWORK_ERROR.wire(), 2147483652);
        assert_eq!(KcErr::LOGON_FAILED.wire(), 2147483657);
        assert_eq!(KcErr::END_OF_SESSION.wire(), 2147483664);
        assert_eq!(KcErr::INVALID_PARAMETER.wire(), 0x80000014);
        assert_eq!(KcErr::SSO_CONTINUE.wire(), 2147483685);
        assert_eq!(KcErr::UNABLE_TO_COMPLETE.wire(), 2147483688);
        assert_eq!(KcErr::BAD_CHARWIDTH.wire(), 0x80000031);
        assert_eq!(KcErr::UNKNOWN_FLAGS.wire(), 0x8000002e);
    }

    #[test]
    fn names() {
        assert_eq!(KcErr::UNABLE_TO_COMPLETE.name(), "UNABLE_TO_COMPLETE");
        assert_eq!(KcErr::BAD_CHARWIDTH.name(), "BAD_CHARWIDTH");
        assert_eq!(KcErr(0x8000_1234).name(), "UNKNOWN_CODE");
        assert_eq!(
            KcErr::LOGON_FAILED.to_string(),
            "KCERR_LOGON_FAILED (0x80000009)"
        );
    }
}
