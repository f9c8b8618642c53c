// Message types and handlers that issue 16 found refused although valid:
// a recursive field through `Self`, `Self` in a handler's signature, and
// a field (or variant) removed by `#[cfg]`.
use isolate_core::prelude::*;

#[message]
pub struct List {
    pub value: u32,
    pub next: Option<Box<Self>>,
}

#[message(immutable)]
pub enum Tree<T> {
    Leaf(T),
    Node(Vec<Self>),
    #[cfg(any())]
    Gone(std::rc::Rc<T>),
}

#[message]
pub struct Settings {
    pub level: u8,
    #[cfg(any())]
    pub scratch: std::cell::RefCell<Vec<u8>>,
    #[cfg(any())]
    pub missing: not_a_crate::Type,
}

#[isolate]
#[derive(Clone, Default)]
pub struct Total {
    sum: u64,
}

#[isolate]
impl Total {
    #[message]
    fn merge(&mut self, other: Self) -> Self {
        self.sum += other.sum;
        self.clone()
    }

    #[message]
    fn length(&self, list: List) -> u32 {
        let mut total = 0;
        let mut next = Some(Box::new(list));
        while let Some(node) = next {
            total += node.value;
            next = node.next;
        }
        total
    }
}

fn main() {
    let group = IsolateGroup::new();
    let total = group.spawn(Total::default());
    assert_eq!(total.merge(Total { sum: 3 }).wait().map(|t| t.sum), Ok(3));
    let list = List {
        value: 1,
        next: Some(Box::new(List {
            value: 2,
            next: None,
        })),
    };
    assert_eq!(total.length(list).wait(), Ok(3));
    let tree = Shared::new(Tree::Node(vec![Tree::Leaf(1u8)]));
    assert!(matches!(&*tree, Tree::Node(children) if children.len() == 1));
    let _ = Settings { level: 1 };
}
