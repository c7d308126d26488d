//! The kc store node: KC's SOAP subset with its error codes and redirect rules,
//! the mailbox store and its API for the gateways, LMTP delivery, quota and soft delete.

pub mod admin;
pub mod api;
pub mod audit;
pub mod caps;
pub mod entryid;
pub mod home;
pub mod kcerr;
pub mod lmtp;
pub mod lmtp_store;
pub mod net;
pub mod node;
pub mod purge;
pub mod redirect;
pub mod session;
pub mod soap;
pub mod startup;
pub mod storage;
pub mod users;
