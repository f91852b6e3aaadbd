//! Registry clients kept across inspections: the core client caches tokens, so reusing one per
//! registry, credential and route is what keeps a repeat inspection free of token requests.

use crate::fetch::{DateClock, FetchTransport};
use imagescope_core::client::Client;
use std::rc::Rc;

pub type WebClient = Client<FetchTransport, DateClock>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKey {
    /// The registry's base URL, e.g. `https://registry-1.docker.io`.
    pub base: String,
    /// A digest of the credential form and which of its candidates this is; never the secret itself.
    pub credential: String,
    pub proxied: bool,
}

/// The clients made so far. A handful at most, so a list beats a hash map (and its code).
#[derive(Clone, Default)]
pub struct Clients(Vec<(ClientKey, Rc<WebClient>)>);

impl Clients {
    pub fn get(&self, key: &ClientKey) -> Option<&Rc<WebClient>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, c)| c)
    }

    pub fn insert(&mut self, key: ClientKey, client: Rc<WebClient>) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = client,
            None => self.0.push((key, client)),
        }
    }
}
