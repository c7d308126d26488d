//! Logon sessions: random 64-bit ids, idle expiry, and KC's `session_ip_check`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::kcerr::KcErr;

/// What a session knows about its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: u64,
    /// Local object id of the effective user (after impersonation).
    pub user_id: i64,
    pub login: String,
    /// 0 none, 1 admin, 2 system admin; SYSTEM counts as 2.
    pub admin_level: u32,
    /// The source address at logon (peer IP, X-Forwarded-For when proxied, or the socket).
    pub source: String,
    pub capabilities: u32,
    pub client_app: String,
    last_used: Instant,
}

impl Session {
    pub fn is_admin(&self) -> bool {
        self.admin_level > 0
    }
}

/// Parameters for [`SessionManager::create`].
#[derive(Debug, Clone)]
pub struct NewSession {
    pub user_id: i64,
    pub login: String,
    pub admin_level: u32,
    pub source: String,
    pub capabilities: u32,
    pub client_app: String,
}

pub struct SessionManager {
    sessions: Mutex<HashMap<u64, Session>>,
    timeout: Duration,
    ip_check: bool,
    max_sessions: usize,
}

impl SessionManager {
    pub fn new(timeout: Duration, ip_check: bool) -> SessionManager {
        SessionManager {
            sessions: Mutex::new(HashMap::new()),
            timeout,
            ip_check,
            max_sessions: 100_000,
        }
    }

    /// Register a session and return its id (never 0).
    pub fn create(&self, n: NewSession) -> Result<u64, KcErr> {
        let mut map = self.sessions.lock();
        if map.len() >= self.max_sessions {
            let timeout = self.timeout;
            map.retain(|_, s| s.last_used.elapsed() < timeout);
            if map.len() >= self.max_sessions {
                return Err(KcErr::NOT_ENOUGH_MEMORY);
            }
        }
        let id = loop {
            let id: u64 = rand::random();
            if id != 0 && !map.contains_key(&id) {
                break id;
            }
        };
        map.insert(
            id,
            Session {
                id,
                user_id: n.user_id,
                login: n.login,
                admin_level: n.admin_level,
                source: n.source,
                capabilities: n.capabilities,
                client_app: n.client_app,
                last_used: Instant::now(),
            },
        );
        Ok(id)
    }

    /// Look a session up for a request from `source`. Unknown, expired, or (with
    /// `session_ip_check`) foreign-address sessions give `END_OF_SESSION`.
    pub fn validate(&self, id: u64, source: &str) -> Result<Session, KcErr> {
        let mut map = self.sessions.lock();
        let Some(s) = map.get_mut(&id) else {
            return Err(KcErr::END_OF_SESSION);
        };
        if s.last_used.elapsed() >= self.timeout {
            map.remove(&id);
            return Err(KcErr::END_OF_SESSION);
        }
        if self.ip_check && s.source != source {
            return Err(KcErr::END_OF_SESSION);
        }
        s.last_used = Instant::now();
        Ok(s.clone())
    }

    /// Remove a session; false when it did not exist.
    pub fn remove(&self, id: u64) -> Option<Session> {
        self.sessions.lock().remove(&id)
    }

    /// Drop idle sessions; returns how many were removed.
    pub fn purge_expired(&self) -> usize {
        let mut map = self.sessions.lock();
        let before = map.len();
        let timeout = self.timeout;
        map.retain(|_, s| s.last_used.elapsed() < timeout);
        before - map.len()
    }

    pub fn count(&self) -> usize {
        self.sessions.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(source: &str) -> NewSession {
        NewSession {
            user_id: 3,
            login: "john".into(),
            admin_level: 0,
            source: source.into(),
            capabilities: 0,
            client_app: String::new(),
        }
    }

    #[test]
    fn ip_check_on() {
        let m = SessionManager::new(Duration::from_secs(300), true);
        let id = m.create(new("10.0.0.1")).unwrap();
        assert_ne!(id, 0);
        assert_eq!(m.validate(id, "10.0.0.1").unwrap().login, "john");
        assert_eq!(m.validate(id, "10.0.0.2"), Err(KcErr::END_OF_SESSION));
        assert_eq!(m.validate(id ^ 1, "10.0.0.1"), Err(KcErr::END_OF_SESSION));
        assert!(m.remove(id).is_some());
        assert_eq!(m.validate(id, "10.0.0.1"), Err(KcErr::END_OF_SESSION));
    }

    #[test]
    fn ip_check_off_and_expiry() {
        let m = SessionManager::new(Duration::from_secs(300), false);
        let id = m.create(new("10.0.0.1")).unwrap();
        assert!(m.validate(id, "10.0.0.2").is_ok());
        let m = SessionManager::new(Duration::ZERO, false);
        let id = m.create(new("10.0.0.1")).unwrap();
        assert_eq!(m.validate(id, "10.0.0.1"), Err(KcErr::END_OF_SESSION));
        m.create(new("10.0.0.1")).unwrap();
        assert_eq!(m.purge_expired(), 1);
        assert_eq!(m.count(), 0);
    }
}
