use std::marker::PhantomData;
use std::rc::Rc;
use isolate_core::prelude::*;

#[message]
pub struct Tagged {
    pub id: u64,
    pub marker: PhantomData<Rc<u8>>,
}

fn main() {}
