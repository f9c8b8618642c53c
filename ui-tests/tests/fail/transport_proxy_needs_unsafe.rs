// Hole 2 of issue 16: a proxy's `send` runs on every sending isolate's
// thread, so a proxy that holds a mutex shares it with all of them. The
// trait is `unsafe`: only a transport that vouches for it may implement it.
use std::sync::{Arc, Mutex};

use isolate_core::TrySendError;
use isolate_core::transport::{self, Proxy};

struct Leaky {
    seen: Arc<Mutex<Vec<u64>>>,
}

impl Proxy<u64> for Leaky {
    fn send(&self, message: u64) -> Result<(), TrySendError<u64>> {
        self.seen.lock().unwrap().push(message);
        Ok(())
    }
}

fn main() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let _port = transport::proxy_port(Leaky { seen });
}
