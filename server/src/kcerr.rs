//! KC's `KCERR_*` result codes. They are defined in kc-store-api, because
//! the store API's error bodies and the client's SOAP logon carry them too;
//! the node's SOAP service, storage and store API use them from here.

pub use kc_store_api::kcerr::KcErr;
