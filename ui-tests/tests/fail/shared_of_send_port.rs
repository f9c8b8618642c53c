use isolate_core::prelude::*;

fn main() {
    let inbox = ReceivePort::<u8>::new();
    // A port may be sent, but it is not immutable data to share.
    let _shared = Shared::new(inbox.send_port());
}
