use std::rc::Rc;

fn main() {
    let _ = isolate_core::run(|| Rc::new(5));
}
