//! The kc store node: KC's SOAP subset with its error codes and redirect rules,
//! the mailbox store and its API for the gateways, LMTP delivery, quota and soft delete.

pub mod audit;
pub mod caps;
pub mod kcerr;
pub mod redirect;
pub mod session;
pub mod soap;
pub mod storage;
