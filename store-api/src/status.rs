//! The one table between HTTP statuses and store-API errors.
//!
//! The node picks the status of a failed request here (from a KC error code
//! or a plain HTTP condition), and the client reads a status back into an
//! error through the same table, so the two sides cannot drift apart.

use crate::kcerr::KcErr;

/// Why a store-API request failed, one class per HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 400: a malformed parameter, path name or body.
    BadRequest,
    /// 401: the session is missing, unknown, expired or from another address.
    Session,
    /// 403: another user's store without admin rights.
    Forbidden,
    /// 404: no such store, folder, item, property or route.
    NotFound,
    /// 405: the resource exists, the method does not.
    MethodNotAllowed,
    /// 409: a name collision or a folder cycle.
    Conflict,
    /// 412: `If-Match` or `If-None-Match` failed.
    PreconditionFailed,
    /// 413: the request body is larger than the API accepts.
    TooLarge,
    /// 500: anything else went wrong on the node.
    Internal,
    /// 507: the store is at its hard quota.
    QuotaExceeded,
}

/// Every error class with its status; [`ErrorKind::status`] and
/// [`ErrorKind::from_status`] read only this.
const STATUSES: [(ErrorKind, u16); 10] = [
    (ErrorKind::BadRequest, 400),
    (ErrorKind::Session, 401),
    (ErrorKind::Forbidden, 403),
    (ErrorKind::NotFound, 404),
    (ErrorKind::MethodNotAllowed, 405),
    (ErrorKind::Conflict, 409),
    (ErrorKind::PreconditionFailed, 412),
    (ErrorKind::TooLarge, 413),
    (ErrorKind::Internal, 500),
    (ErrorKind::QuotaExceeded, 507),
];

/// KC error codes that have a class of their own; every other code is
/// [`ErrorKind::Internal`].
const KC_CODES: [(KcErr, ErrorKind); 8] = [
    (KcErr::NOT_FOUND, ErrorKind::NotFound),
    (KcErr::NO_ACCESS, ErrorKind::Forbidden),
    (KcErr::END_OF_SESSION, ErrorKind::Session),
    (KcErr::LOGON_FAILED, ErrorKind::Session),
    (KcErr::COLLISION, ErrorKind::Conflict),
    (KcErr::INVALID_PARAMETER, ErrorKind::BadRequest),
    (KcErr::STORE_FULL, ErrorKind::QuotaExceeded),
    (KcErr::TOO_BIG, ErrorKind::TooLarge),
];

impl ErrorKind {
    /// The HTTP status the node answers with.
    pub fn status(self) -> u16 {
        STATUSES
            .iter()
            .find(|(k, _)| *k == self)
            .map_or(500, |(_, s)| *s)
    }

    /// The class of an error status; `None` for a status the API does not
    /// define (a proxy's 502, an overloaded node's 503, ...).
    pub fn from_status(status: u16) -> Option<ErrorKind> {
        STATUSES.iter().find(|(_, s)| *s == status).map(|(k, _)| *k)
    }

    /// The class of a KC error code.
    pub fn of_kc(er: KcErr) -> ErrorKind {
        KC_CODES
            .iter()
            .find(|(e, _)| *e == er)
            .map_or(ErrorKind::Internal, |(_, k)| *k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for (k, s) in STATUSES {
            assert_eq!(k.status(), s);
            assert_eq!(ErrorKind::from_status(s), Some(k));
        }
        assert_eq!(ErrorKind::from_status(503), None);
        assert_eq!(ErrorKind::from_status(200), None);
    }

    #[test]
    fn kc_codes() {
        assert_eq!(ErrorKind::of_kc(KcErr::NOT_FOUND).status(), 404);
        assert_eq!(ErrorKind::of_kc(KcErr::NO_ACCESS).status(), 403);
        assert_eq!(ErrorKind::of_kc(KcErr::END_OF_SESSION).status(), 401);
        assert_eq!(ErrorKind::of_kc(KcErr::LOGON_FAILED).status(), 401);
        assert_eq!(ErrorKind::of_kc(KcErr::COLLISION).status(), 409);
        assert_eq!(ErrorKind::of_kc(KcErr::INVALID_PARAMETER).status(), 400);
        assert_eq!(ErrorKind::of_kc(KcErr::STORE_FULL).status(), 507);
        assert_eq!(ErrorKind::of_kc(KcErr::TOO_BIG).status(), 413);
        assert_eq!(ErrorKind::of_kc(KcErr::DATABASE_ERROR).status(), 500);
        assert_eq!(ErrorKind::of_kc(KcErr::NONE).status(), 500);
    }
}
