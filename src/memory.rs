//! What clients may make the server hold in memory, in bytes: each connection (or request) at
//! most its own share, each client address at most `per_address`, all clients together at most
//! `total`. Whatever a client can fill — a request body being read, the frames a WebSocket sends
//! it, the messages it sends over one — is held from an `Account` before it is kept, and given
//! back when it is dropped, so that no number of connections, from one address or from many,
//! can take more than the totals.
//!
//! Knows nothing of HTTP or GraphQL: callers say who the client is and what it would hold.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::ratelimit::Client;

/// The most bytes held at once by one account, by one address, and by everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimits {
    pub per_connection: usize,
    pub per_address: usize,
    pub total: usize,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        Self { per_connection: 16 << 20, per_address: 64 << 20, total: 512 << 20 }
    }
}

/// Which bound a hold would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Connection,
    Address,
    Total,
}

/// A hold refused: nothing was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("holding {bytes} more bytes would pass the {bound:?} limit of {limit} bytes")]
pub struct OverMemory {
    pub bound: Bound,
    pub limit: usize,
    pub bytes: usize,
}

/// The server's memory for clients.
#[derive(Clone)]
pub struct Memory(Arc<Shared>);

struct Shared {
    limits: MemoryLimits,
    total: Arc<Semaphore>,
    /// One allowance per address while it has an account open.
    addresses: Mutex<HashMap<Client, Arc<Semaphore>>>,
}

/// A semaphore counts at most `Semaphore::MAX_PERMITS`, and takes at most `u32::MAX` at once.
fn permits(bytes: usize) -> usize {
    bytes.min(u32::MAX as usize).min(Semaphore::MAX_PERMITS)
}

impl Memory {
    pub fn new(limits: MemoryLimits) -> Self {
        Memory(Arc::new(Shared {
            limits,
            total: Arc::new(Semaphore::new(permits(limits.total))),
            addresses: Mutex::new(HashMap::new()),
        }))
    }

    pub fn limits(&self) -> MemoryLimits {
        self.0.limits
    }

    /// An account for one connection or request from `address` (none: only the total holds).
    pub fn account(&self, address: Option<IpAddr>) -> Account {
        let address = address.map(|ip| {
            let client = Client::address(ip);
            let mut addresses = self.0.addresses.lock().unwrap_or_else(|e| e.into_inner());
            let allowance = addresses
                .entry(client)
                .or_insert_with(|| Arc::new(Semaphore::new(permits(self.0.limits.per_address))))
                .clone();
            (client, allowance)
        });
        Account {
            memory: self.clone(),
            own: Arc::new(Semaphore::new(permits(self.0.limits.per_connection))),
            address,
        }
    }

    /// Bytes held now by everyone.
    pub fn held(&self) -> usize {
        permits(self.0.limits.total) - self.0.total.available_permits()
    }

    /// Addresses with an account open.
    pub fn addresses(&self) -> usize {
        self.0.addresses.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// One connection's (or request's) share of the memory.
pub struct Account {
    memory: Memory,
    own: Arc<Semaphore>,
    address: Option<(Client, Arc<Semaphore>)>,
}

impl Drop for Account {
    fn drop(&mut self) {
        let Some((client, allowance)) = self.address.take() else { return };
        let mut addresses = self.memory.0.addresses.lock().unwrap_or_else(|e| e.into_inner());
        // The map's and this one: no other account of the address is open.
        if Arc::strong_count(&allowance) == 2 {
            addresses.remove(&client);
        }
    }
}

impl Account {
    /// The levels a hold takes from, innermost first, with their limits.
    fn levels(&self) -> impl Iterator<Item = (&Arc<Semaphore>, Bound, usize)> {
        let limits = self.memory.0.limits;
        [
            Some((&self.own, Bound::Connection, limits.per_connection)),
            self.address.as_ref().map(|(_, s)| (s, Bound::Address, limits.per_address)),
            Some((&self.memory.0.total, Bound::Total, limits.total)),
        ]
        .into_iter()
        .flatten()
    }

    /// Holds `bytes` now, or refuses saying which limit is reached.
    pub fn try_hold(&self, bytes: usize) -> Result<Held, OverMemory> {
        let mut held = Held::default();
        self.try_grow(&mut held, bytes)?;
        Ok(held)
    }

    /// Adds `bytes` to `held` now, or refuses and leaves it as it was.
    pub fn try_grow(&self, held: &mut Held, bytes: usize) -> Result<(), OverMemory> {
        if bytes == 0 {
            return Ok(());
        }
        let mut taken = Vec::with_capacity(3);
        for (semaphore, bound, limit) in self.levels() {
            let refused = OverMemory { bound, limit, bytes };
            if bytes > permits(limit) {
                return Err(refused);
            }
            match semaphore.clone().try_acquire_many_owned(bytes as u32) {
                Ok(permit) => taken.push(permit),
                Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => return Err(refused),
            }
        }
        held.add(taken, bytes);
        Ok(())
    }

    /// Holds `bytes`, waiting up to `wait` for others to give some back; refuses at once when
    /// `bytes` is more than a limit allows at all.
    pub async fn hold(&self, bytes: usize, wait: Duration) -> Result<Held, OverMemory> {
        let mut held = Held::default();
        if bytes == 0 {
            return Ok(held);
        }
        let deadline = tokio::time::Instant::now() + wait;
        let mut taken = Vec::with_capacity(3);
        for (semaphore, bound, limit) in self.levels() {
            let refused = OverMemory { bound, limit, bytes };
            if bytes > permits(limit) {
                return Err(refused);
            }
            let acquire = semaphore.clone().acquire_many_owned(bytes as u32);
            match tokio::time::timeout_at(deadline, acquire).await {
                Ok(Ok(permit)) => taken.push(permit),
                _ => return Err(refused),
            }
        }
        held.add(taken, bytes);
        Ok(held)
    }
}

/// Bytes held from an account; dropping it gives them back.
#[derive(Default)]
pub struct Held {
    /// One permit per level, each for `bytes`.
    permits: Vec<OwnedSemaphorePermit>,
    bytes: usize,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Held({} bytes)", self.bytes)
    }
}

impl Held {
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn add(&mut self, taken: Vec<OwnedSemaphorePermit>, bytes: usize) {
        if self.permits.is_empty() {
            self.permits = taken;
        } else {
            for (mine, more) in self.permits.iter_mut().zip(taken) {
                mine.merge(more);
            }
        }
        self.bytes += bytes;
    }

    /// Gives back `bytes` (at most what is held).
    pub fn release(&mut self, bytes: usize) {
        let bytes = bytes.min(self.bytes);
        if bytes == 0 {
            return;
        }
        for permit in &mut self.permits {
            drop(permit.split(bytes));
        }
        self.bytes -= bytes;
        if self.bytes == 0 {
            self.permits.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(per_connection: usize, per_address: usize, total: usize) -> Memory {
        Memory::new(MemoryLimits { per_connection, per_address, total })
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn each_bound_holds_and_says_which_one_refused() {
        let memory = memory(100, 150, 200);
        let a = memory.account(ip(1));
        let first = a.try_hold(100).unwrap();
        assert_eq!(a.try_hold(1).unwrap_err().bound, Bound::Connection);
        let b = memory.account(ip(1));
        assert_eq!(b.try_hold(51).unwrap_err().bound, Bound::Address);
        let _b = b.try_hold(50).unwrap();
        let c = memory.account(ip(2));
        assert_eq!(c.try_hold(51).unwrap_err().bound, Bound::Total);
        drop(first);
        let _c = c.try_hold(51).unwrap();
        assert_eq!(memory.held(), 101);
        assert_eq!(a.try_hold(101).unwrap_err().bound, Bound::Connection);
    }

    #[test]
    fn released_bytes_are_given_back_at_every_level() {
        let memory = memory(100, 100, 100);
        let a = memory.account(ip(1));
        let mut held = a.try_hold(60).unwrap();
        a.try_grow(&mut held, 40).unwrap();
        assert!(a.try_grow(&mut held, 1).is_err());
        assert_eq!(held.bytes(), 100);
        held.release(70);
        assert_eq!(memory.held(), 30);
        let b = memory.account(ip(2));
        let _other = b.try_hold(70).unwrap();
        drop(held);
        assert_eq!(memory.held(), 70);
    }

    #[test]
    fn an_address_is_forgotten_with_its_last_account() {
        let memory = memory(10, 10, 100);
        let a = memory.account(ip(1));
        let b = memory.account(ip(1));
        let _c = memory.account(None);
        assert_eq!(memory.addresses(), 1);
        drop(a);
        assert_eq!(memory.addresses(), 1);
        drop(b);
        assert_eq!(memory.addresses(), 0);
    }

    #[tokio::test]
    async fn a_hold_waits_for_bytes_given_back_then_gives_up() {
        let memory = memory(100, 100, 100);
        let a = memory.account(ip(1));
        let b = memory.account(ip(2));
        let held = a.try_hold(100).unwrap();
        let refused = b.hold(10, Duration::from_millis(20)).await.unwrap_err();
        assert_eq!(refused.bound, Bound::Total);
        let waiting = tokio::spawn(async move { b.hold(10, Duration::from_secs(5)).await.is_ok() });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(held);
        assert!(waiting.await.unwrap());
        assert_eq!(a.hold(101, Duration::from_secs(5)).await.unwrap_err().bound, Bound::Connection);
    }
}
