use std::cell::Cell;

use isolate_core::prelude::*;

async fn answer(reply: ReplySender<Cell<u8>>) {
    reply.send(Cell::new(1));
}

fn main() {
    let group = IsolateGroup::new();
    // A reply sender crosses only if its answer may cross back.
    let (reply_to, _reply) = Reply::<Cell<u8>>::channel();
    group.spawn_fn(answer, reply_to);
}
